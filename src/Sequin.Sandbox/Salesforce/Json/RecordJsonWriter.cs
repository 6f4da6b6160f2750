using System.Text.Json;
using Sequin.Sandbox.Salesforce.Schema;
using Sequin.Sandbox.Salesforce.Store;

namespace Sequin.Sandbox.Salesforce.Json;

/// <summary>
/// Writes records as the REST API does: <c>{"attributes":{"type","url"},"Field":value,...}</c>, with
/// datetimes as <c>2024-05-08T21:20:00.000+0000</c>, dates as <c>yyyy-MM-dd</c>, compound addresses
/// as objects. This is the hot path of query paging, so it writes UTF-8 straight from record slots
/// with pre-encoded property names and no intermediate strings.
/// </summary>
internal static class RecordJsonWriter
{
    private static readonly JsonEncodedText Attributes = JsonEncodedText.Encode("attributes");
    private static readonly JsonEncodedText TypeName = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText Url = JsonEncodedText.Encode("url");
    private static readonly JsonEncodedText City = JsonEncodedText.Encode("city");
    private static readonly JsonEncodedText Country = JsonEncodedText.Encode("country");
    private static readonly JsonEncodedText GeocodeAccuracy = JsonEncodedText.Encode("geocodeAccuracy");
    private static readonly JsonEncodedText Latitude = JsonEncodedText.Encode("latitude");
    private static readonly JsonEncodedText Longitude = JsonEncodedText.Encode("longitude");
    private static readonly JsonEncodedText PostalCode = JsonEncodedText.Encode("postalCode");
    private static readonly JsonEncodedText State = JsonEncodedText.Encode("state");
    private static readonly JsonEncodedText Street = JsonEncodedText.Encode("street");

    /// <summary>
    /// <paramref name="sobjectUrlPrefix"/> is the UTF-8 of <c>/services/data/vXX.X/sobjects/Type/</c>;
    /// the record id is appended to it for <c>attributes.url</c>.
    /// </summary>
    public static void Write(Utf8JsonWriter writer, Record record, IReadOnlyList<FieldDef> projection,
        ReadOnlySpan<byte> sobjectUrlPrefix, JsonEncodedText typeName)
    {
        WriteStart(writer, record, sobjectUrlPrefix, typeName);
        for (var i = 0; i < projection.Count; i++)
        {
            WriteField(writer, record, projection[i]);
        }
        writer.WriteEndObject();
    }

    /// <summary>Opens the record object and writes <c>attributes</c>; the caller writes fields and closes it.</summary>
    public static void WriteStart(Utf8JsonWriter writer, Record record, ReadOnlySpan<byte> sobjectUrlPrefix, JsonEncodedText typeName)
    {
        writer.WriteStartObject();
        writer.WriteStartObject(Attributes);
        writer.WriteString(TypeName, typeName);
        Span<byte> url = stackalloc byte[sobjectUrlPrefix.Length + 18];
        sobjectUrlPrefix.CopyTo(url);
        var id = record.Id;
        for (var i = 0; i < 18; i++)
        {
            url[sobjectUrlPrefix.Length + i] = (byte)id[i];
        }
        writer.WriteString(Url, url);
        writer.WriteEndObject();
    }

    public static void WriteField(Utf8JsonWriter writer, Record record, FieldDef field)
    {
        if (field.Type == FieldType.Address)
        {
            WriteAddress(writer, record, field);
            return;
        }
        WriteValue(writer, field.JsonName, field, record.Values[field.Ordinal]);
    }

    public static void WriteValue(Utf8JsonWriter writer, JsonEncodedText name, FieldDef field, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNull(name);
                break;
            case string s:
                writer.WriteString(name, s);
                break;
            case bool b:
                writer.WriteBoolean(name, b);
                break;
            case int n:
                writer.WriteNumber(name, n);
                break;
            case double d:
                writer.WriteNumber(name, d);
                break;
            case DateTime dt:
            {
                Span<byte> buffer = stackalloc byte[SalesforceFormat.DateTimeLength];
                SalesforceFormat.WriteDateTime(dt, buffer);
                writer.WriteString(name, buffer);
                break;
            }
            case DateOnly date:
            {
                Span<byte> buffer = stackalloc byte[10];
                SalesforceFormat.WriteDate(date, buffer);
                writer.WriteString(name, buffer);
                break;
            }
            default:
                throw new InvalidOperationException($"Unexpected value type {value.GetType()} in {field.Name}.");
        }
    }

    /// <summary>
    /// Compound address as Salesforce returns it: null when every component is empty, otherwise an
    /// object with city, country, geocodeAccuracy, latitude, longitude, postalCode, state, street.
    /// </summary>
    private static void WriteAddress(Utf8JsonWriter writer, Record record, FieldDef field)
    {
        var a = field.Address!;
        var street = record.Get(a.Street);
        var city = record.Get(a.City);
        var state = record.Get(a.State);
        var postal = record.Get(a.PostalCode);
        var country = record.Get(a.Country);
        var lat = record.Get(a.Latitude);
        var lon = record.Get(a.Longitude);
        var accuracy = record.Get(a.GeocodeAccuracy);
        if (street is null && city is null && state is null && postal is null && country is null && lat is null && lon is null)
        {
            writer.WriteNull(field.JsonName);
            return;
        }
        writer.WriteStartObject(field.JsonName);
        WriteValue(writer, City, a.City, city);
        WriteValue(writer, Country, a.Country, country);
        WriteValue(writer, GeocodeAccuracy, a.GeocodeAccuracy, accuracy);
        WriteValue(writer, Latitude, a.Latitude, lat);
        WriteValue(writer, Longitude, a.Longitude, lon);
        WriteValue(writer, PostalCode, a.PostalCode, postal);
        WriteValue(writer, State, a.State, state);
        WriteValue(writer, Street, a.Street, street);
        writer.WriteEndObject();
    }
}
