using System.Globalization;
using System.Text.RegularExpressions;
using Sequin.Sandbox.Salesforce.Json;
using Sequin.Sandbox.Salesforce.Schema;

namespace Sequin.Sandbox.Salesforce.Writes;

/// <summary>A <see cref="SandboxValidationRule"/> bound to the schema: a predicate over record slots.</summary>
internal sealed record CompiledValidationRule(ObjectDef Type, SandboxValidationRule Source, FieldDef? Field,
    Func<object?[], bool> Fails);

internal static class ValidationRuleCompiler
{
    /// <summary>Binds rules to the schema; throws <see cref="ArgumentException"/> with a readable reason.</summary>
    public static List<CompiledValidationRule> Compile(IEnumerable<SandboxValidationRule> rules, SchemaCatalog catalog)
    {
        var compiled = new List<CompiledValidationRule>();
        foreach (var rule in rules)
        {
            var type = catalog.Find(rule.Object) ?? throw new ArgumentException($"Unknown object '{rule.Object}' in rule '{rule.Name}'.");
            if (string.IsNullOrWhiteSpace(rule.ErrorMessage))
            {
                throw new ArgumentException($"Rule '{rule.Name}' needs an errorMessage.");
            }
            var field = rule.Field is null ? null : type.FindField(rule.Field)
                ?? throw new ArgumentException($"Unknown field '{rule.Field}' on {type.Name} in rule '{rule.Name}'.");
            compiled.Add(new CompiledValidationRule(type, rule, field, Compile(rule.Condition, type, rule.Name)));
        }
        return compiled;
    }

    private static Func<object?[], bool> Compile(SandboxRuleCondition c, ObjectDef type, string rule)
    {
        if (c.All is { } all)
        {
            var parts = all.Select(p => Compile(p, type, rule)).ToArray();
            return v => parts.All(p => p(v));
        }
        if (c.Any is { } any)
        {
            var parts = any.Select(p => Compile(p, type, rule)).ToArray();
            return v => parts.Any(p => p(v));
        }
        if (c.Not is { } not)
        {
            var inner = Compile(not, type, rule);
            return v => !inner(v);
        }
        var field = (c.Field is null ? null : type.FindField(c.Field))
            ?? throw new ArgumentException($"Rule '{rule}': condition needs a known 'field' (got '{c.Field}').");
        if (field.Ordinal < 0)
        {
            throw new ArgumentException($"Rule '{rule}': compound field '{field.Name}' cannot be tested; use its components.");
        }
        var slot = field.Ordinal;
        var operand = c.Value ?? string.Empty;
        string? Text(object?[] v) => Format(v[slot]);
        switch (c.Operator?.ToLowerInvariant())
        {
            case "equals":
                return v => string.Equals(Text(v) ?? string.Empty, operand, StringComparison.OrdinalIgnoreCase);
            case "notequals":
                return v => !string.Equals(Text(v) ?? string.Empty, operand, StringComparison.OrdinalIgnoreCase);
            case "contains":
                return v => Text(v)?.Contains(operand, StringComparison.OrdinalIgnoreCase) == true;
            case "startswith":
                return v => Text(v)?.StartsWith(operand, StringComparison.OrdinalIgnoreCase) == true;
            case "matches":
                var regex = new Regex("^(?:" + operand + ")$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
                return v => regex.IsMatch(Text(v) ?? string.Empty);
            case "isblank":
                return v => string.IsNullOrEmpty(Text(v));
            case "isnotblank":
                return v => !string.IsNullOrEmpty(Text(v));
            case "greaterthan" or "lessthan":
                var sign = c.Operator.Equals("greaterThan", StringComparison.OrdinalIgnoreCase) ? 1 : -1;
                var bound = ParseOperand(field, operand) ?? throw new ArgumentException($"Rule '{rule}': '{operand}' is not a value of {field.Name}.");
                return v => v[slot] is { } x && Math.Sign(Soql.SoqlCompiler.Compare(field, x, bound)) == sign;
            default:
                throw new ArgumentException($"Rule '{rule}': unknown operator '{c.Operator}'.");
        }
    }

    private static object? ParseOperand(FieldDef field, string text) => field.Kind switch
    {
        ValueKind.Int or ValueKind.Double when double.TryParse(text, CultureInfo.InvariantCulture, out var d) => d,
        ValueKind.Date when SalesforceFormat.TryParseDate(text, out var date) => date,
        ValueKind.DateTime when SalesforceFormat.TryParseDateTime(text, out var dt) => dt,
        ValueKind.String => text,
        _ => null,
    };

    /// <summary>A value as Salesforce would print it, for text comparisons.</summary>
    public static string? Format(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        int n => n.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString(CultureInfo.InvariantCulture),
        DateOnly d => SalesforceFormat.DateText(d),
        DateTime dt => SalesforceFormat.DateTimeText(dt),
        _ => value.ToString(),
    };
}
