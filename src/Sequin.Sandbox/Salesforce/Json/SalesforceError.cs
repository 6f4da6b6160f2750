using System.Text.Json;

namespace Sequin.Sandbox.Salesforce.Json;

/// <summary>
/// One Salesforce API error. Single-resource requests return <c>[{"message","errorCode","fields"?}]</c>;
/// sObject Collections results use <c>statusCode</c> instead of <c>errorCode</c> (REST API Developer
/// Guide, "Status Codes and Error Responses").
/// </summary>
internal sealed record SalesforceError(string ErrorCode, string Message, IReadOnlyList<string>? Fields = null)
{
    public static SalesforceError NotFound() => new("NOT_FOUND", "The requested resource does not exist");

    public static SalesforceError InvalidSession() => new("INVALID_SESSION_ID", "Session expired or invalid");

    public void WriteSingle(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("message"u8, Message);
        writer.WriteString("errorCode"u8, ErrorCode);
        if (Fields is not null)
        {
            WriteFields(writer);
        }
        writer.WriteEndObject();
    }

    public void WriteInCollection(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteString("statusCode"u8, ErrorCode);
        writer.WriteString("message"u8, Message);
        WriteFields(writer);
        writer.WriteEndObject();
    }

    private void WriteFields(Utf8JsonWriter writer)
    {
        writer.WriteStartArray("fields"u8);
        foreach (var f in Fields ?? [])
        {
            writer.WriteStringValue(f);
        }
        writer.WriteEndArray();
    }
}

/// <summary>Thrown inside request handling to answer with a Salesforce error array.</summary>
internal sealed class SalesforceApiException(int status, SalesforceError error) : Exception(error.Message)
{
    public int Status { get; } = status;
    public SalesforceError Error { get; } = error;
}
