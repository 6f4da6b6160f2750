namespace Sequin.Sandbox.Salesforce.Schema;

/// <summary>The describe <c>type</c> of a field (Salesforce "Field types" reference).</summary>
internal enum FieldType
{
    Id,
    Reference,
    String,
    TextArea,
    Email,
    Phone,
    Url,
    Picklist,
    MultiPicklist,
    Combobox,
    Boolean,
    Int,
    Double,
    Currency,
    Percent,
    Date,
    DateTime,
    Address,
}

/// <summary>How a field's value is stored in a record slot.</summary>
internal enum ValueKind
{
    /// <summary>Not stored: compound fields are assembled from their components.</summary>
    None,
    String,
    Boolean,
    Int,
    Double,
    Date,
    DateTime,
}

internal static class FieldTypeExtensions
{
    public static string DescribeName(this FieldType type) => type switch
    {
        FieldType.Id => "id",
        FieldType.Reference => "reference",
        FieldType.String => "string",
        FieldType.TextArea => "textarea",
        FieldType.Email => "email",
        FieldType.Phone => "phone",
        FieldType.Url => "url",
        FieldType.Picklist => "picklist",
        FieldType.MultiPicklist => "multipicklist",
        FieldType.Combobox => "combobox",
        FieldType.Boolean => "boolean",
        FieldType.Int => "int",
        FieldType.Double => "double",
        FieldType.Currency => "currency",
        FieldType.Percent => "percent",
        FieldType.Date => "date",
        FieldType.DateTime => "datetime",
        FieldType.Address => "address",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static string SoapType(this FieldType type) => type switch
    {
        FieldType.Id or FieldType.Reference => "tns:ID",
        FieldType.Boolean => "xsd:boolean",
        FieldType.Int => "xsd:int",
        FieldType.Double or FieldType.Currency or FieldType.Percent => "xsd:double",
        FieldType.Date => "xsd:date",
        FieldType.DateTime => "xsd:dateTime",
        FieldType.Address => "urn:address",
        _ => "xsd:string",
    };

    public static ValueKind Kind(this FieldType type) => type switch
    {
        FieldType.Address => ValueKind.None,
        FieldType.Boolean => ValueKind.Boolean,
        FieldType.Int => ValueKind.Int,
        FieldType.Double or FieldType.Currency or FieldType.Percent => ValueKind.Double,
        FieldType.Date => ValueKind.Date,
        FieldType.DateTime => ValueKind.DateTime,
        _ => ValueKind.String,
    };

    /// <summary>Parses the type names accepted in <c>SalesforceSandboxOptions.CustomObjects</c>.</summary>
    public static bool TryParseDescribeName(string name, out FieldType type)
    {
        foreach (var candidate in Enum.GetValues<FieldType>())
        {
            if (candidate.DescribeName().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                type = candidate;
                return true;
            }
        }
        type = default;
        return false;
    }
}
