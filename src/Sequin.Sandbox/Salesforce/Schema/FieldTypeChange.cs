using System.Globalization;
using Sequin.Sandbox.Salesforce.Json;

namespace Sequin.Sandbox.Salesforce.Schema;

/// <summary>
/// Changing a custom field's type, as an admin does in Setup ("Change Field Type"): the field gets the new describe
/// metadata, and each stored value is converted to the new type or, when it does not convert, cleared (Salesforce
/// warns that such a change may lose data). Records keep their SystemModstamp: a metadata change is not a record
/// write, so clients only learn of it from describe.
/// </summary>
internal static class FieldTypeChange
{
    /// <summary>The types a field can be changed to (and, with picklists, from).</summary>
    private static readonly FieldType[] Targets =
    [
        FieldType.String, FieldType.TextArea, FieldType.Email, FieldType.Phone, FieldType.Url, FieldType.Boolean, FieldType.Int,
        FieldType.Double, FieldType.Currency, FieldType.Percent, FieldType.Date, FieldType.DateTime,
    ];

    /// <summary>The field with its new type; throws <see cref="ArgumentException"/> for a change Salesforce does not allow.</summary>
    public static FieldDef Retype(ObjectDef type, FieldDef field, string typeName, int? length, int? precision, int? scale)
    {
        if (!field.Custom || !field.Name.EndsWith("__c", StringComparison.Ordinal))
        {
            throw new ArgumentException($"Only custom fields can change type; {type.Name}.{field.Name} is a standard field.");
        }

        if (field.Kind == ValueKind.None || field.Type is FieldType.Id or FieldType.Reference)
        {
            throw new ArgumentException($"{type.Name}.{field.Name} is a {field.Type.DescribeName()} field, whose type cannot be changed.");
        }

        if (!FieldTypeExtensions.TryParseDescribeName(typeName, out var next) || !Targets.Contains(next))
        {
            throw new ArgumentException(
                $"Cannot change a field to type '{typeName}'; supported: {string.Join(", ", Targets.Select(t => t.DescribeName()))}.");
        }

        var text = next.Kind() == ValueKind.String;
        var number = next.Kind() is ValueKind.Int or ValueKind.Double;
        var newLength = text ? length ?? (field.Kind == ValueKind.String ? field.Length : 255) : 0;
        var newPrecision = number ? precision ?? 18 : 0;
        var newScale = next == FieldType.Int ? 0 : number ? scale ?? (next == FieldType.Currency ? 2 : 0) : 0;
        if (text && newLength is < 1 or > 131_072)
        {
            throw new ArgumentException("length must be between 1 and 131072.");
        }

        if (number && (newPrecision is < 1 or > 18 || newScale < 0 || newScale > newPrecision))
        {
            throw new ArgumentException("precision must be between 1 and 18 and scale between 0 and the precision.");
        }

        return new FieldDef
        {
            Name = field.Name,
            Label = field.Label,
            Type = next,
            Length = newLength,
            Precision = next == FieldType.Int ? 0 : newPrecision,
            Scale = newScale,
            Digits = next == FieldType.Int ? newPrecision : 0,
            Nillable = next != FieldType.Boolean && field.Nillable,
            DefaultedOnCreate = next == FieldType.Boolean,
            IdLookup = next == FieldType.Email,
            Custom = true,
            Filterable = next != FieldType.TextArea || newLength <= 255,
            Sortable = next != FieldType.TextArea || newLength <= 255,
        };
    }

    /// <summary>
    /// A stored value in the field's new type. <paramref name="lost"/> is true when a value did not convert (cleared,
    /// or false for a checkbox) or text had to be cut to the new length.
    /// </summary>
    public static object? Convert(object? value, FieldDef to, out bool lost)
    {
        lost = false;
        if (value is null)
        {
            return to.Kind == ValueKind.Boolean ? false : null;
        }

        object? result = to.Kind switch
        {
            ValueKind.String => Text(value),
            ValueKind.Boolean => value switch
            {
                bool b => b,
                string s when bool.TryParse(s.Trim(), out var b) => b,
                _ => null,
            },
            ValueKind.Int => Number(value, to) is { } d && d is >= int.MinValue and <= int.MaxValue ? (int)Math.Round(d, MidpointRounding.AwayFromZero) : null,
            ValueKind.Double => Number(value, to),
            ValueKind.Date => value switch
            {
                DateOnly d => d,
                DateTime t => DateOnly.FromDateTime(t),
                string s when SalesforceFormat.TryParseDate(s.Trim(), out var d) => d,
                _ => null,
            },
            ValueKind.DateTime => value switch
            {
                DateTime t => t,
                DateOnly d => d.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc),
                string s when SalesforceFormat.TryParseDateTime(s.Trim(), out var t) => t,
                _ => null,
            },
            _ => null,
        };
        if (result is string text && text.Length > to.Length)
        {
            result = text[..to.Length];
            lost = true;
        }

        if (result is null)
        {
            lost = true;
            return to.Kind == ValueKind.Boolean ? false : null;
        }

        return result;
    }

    /// <summary>
    /// Values prepared for an older shape of an object (a write that raced a type change) in its current shape: the
    /// slots are the same, only the changed fields' values are converted.
    /// </summary>
    public static object?[] Adapt(ObjectDef from, ObjectDef to, object?[] values)
    {
        foreach (var field in to.Fields)
        {
            if (field.Ordinal >= 0 && from.FindField(field.Name) is { } old && old.Type != field.Type)
            {
                values[field.Ordinal] = Convert(values[field.Ordinal], field, out _);
            }
        }

        return values;
    }

    private static string? Text(object value) => value switch
    {
        string s => s,
        bool b => b ? "true" : "false",
        int i => i.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString(CultureInfo.InvariantCulture),
        DateOnly d => SalesforceFormat.DateText(d),
        DateTime t => SalesforceFormat.DateTimeText(t),
        _ => null,
    };

    /// <summary>A number rounded to the field's scale; null when it is not a number or has too many digits for the field.</summary>
    private static double? Number(object value, FieldDef to)
    {
        double? d = value switch
        {
            int i => i,
            double x => x,
            string s when double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x) => x,
            _ => null,
        };
        if (d is not { } n)
        {
            return null;
        }

        var scale = to.Type == FieldType.Int ? 0 : to.Scale;
        var digits = to.Type == FieldType.Int ? to.Digits : to.Precision;
        var rounded = Math.Round(n, scale, MidpointRounding.AwayFromZero);
        return Math.Abs(rounded) >= Math.Pow(10, digits - scale) ? null : rounded;
    }
}
