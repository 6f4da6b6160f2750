using System.Text;
using System.Text.Json;

namespace Sequin.Sources.Salesforce;

/// <summary>
/// Query pages (<c>{"totalSize","done","nextRecordsUrl","records":[...]}</c>) read with <see cref="Utf8JsonReader"/>
/// straight from the response bytes into typed values: no DOM, no intermediate strings for dates, numbers and
/// booleans. Pages are 2000 records of up to hundreds of fields, so this is the connector's hot path.
/// </summary>
internal sealed partial class SalesforceConnector
{
    private static Page ParsePage(ReadOnlySpan<byte> body, DateTime? serverDate, QueryPlan plan)
    {
        if (body.IsEmpty)
        {
            throw new SourceException("Salesforce query: empty response body", "MALFORMED_RESPONSE", 200);
        }

        var reader = new Utf8JsonReader(body);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new SourceException("Salesforce query: the response has no records array", "MALFORMED_RESPONSE", 200);
        }

        var done = true;
        string? next = null;
        List<SourceRecord>? records = null;
        List<bool>? deleted = null;
        var misfits = new List<ValueMisfit>();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("records"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw new SourceException("Salesforce query: the response has no records array", "MALFORMED_RESPONSE", 200);
                }

                records = [];
                deleted = plan.IsDeletedSlot >= 0 ? [] : null;
                ReadRecords(ref reader, body, plan, records, deleted, misfits, nullsAllowed: false);
            }
            else if (reader.ValueTextEquals("done"u8))
            {
                reader.Read();
                done = reader.TokenType != JsonTokenType.False;
            }
            else if (reader.ValueTextEquals("nextRecordsUrl"u8))
            {
                reader.Read();
                next = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (reader.Read())
        {
            throw new JsonException("unexpected content after the response object");
        }

        if (records is null)
        {
            throw new SourceException("Salesforce query: the response has no records array", "MALFORMED_RESPONSE", 200);
        }

        if (!done && next is null)
        {
            throw new SourceException("Salesforce query: done is false but nextRecordsUrl is missing", "MALFORMED_RESPONSE", 200);
        }

        return new Page(records, deleted?.ToArray(), done, next, misfits, serverDate);
    }

    /// <summary>
    /// sObject Collections retrieve (<c>[{record}, null, …]</c>, one entry per requested id, null for an id that is
    /// not found or not readable): the records found, parsed exactly as query pages are.
    /// </summary>
    private static (List<SourceRecord> Records, List<ValueMisfit> Misfits) ParseRetrieved(ReadOnlySpan<byte> body, QueryPlan plan)
    {
        var reader = new Utf8JsonReader(body);
        if (body.IsEmpty || !reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            throw new SourceException("Salesforce sObject Collections retrieve: the response is not an array", "MALFORMED_RESPONSE", 200);
        }

        var records = new List<SourceRecord>();
        var misfits = new List<ValueMisfit>();
        ReadRecords(ref reader, body, plan, records, null, misfits, nullsAllowed: true);
        if (reader.Read())
        {
            throw new JsonException("unexpected content after the response array");
        }

        return (records, misfits);
    }

    private static void ReadRecords(ref Utf8JsonReader reader, ReadOnlySpan<byte> body, QueryPlan plan, List<SourceRecord> records, List<bool>? deleted,
        List<ValueMisfit> misfits, bool nullsAllowed)
    {
        var fields = plan.Request.Fields;
        var names = plan.SelectNamesUtf8;
        // The last text value of each field: neighbouring records often repeat one (owner, account, picklists), and
        // an equal value reuses the string instead of decoding and allocating it again.
        var lastText = new string?[fields.Count];
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var index = records.Count;
            if (nullsAllowed && reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new SourceException($"Salesforce query: record {index} is not an object", "MALFORMED_RESPONSE", 200);
            }

            var values = new object?[fields.Count];
            string? id = null;
            DateTime? version = null;
            var isDeleted = false;
            var select = 0;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                int slot;
                if (select < names.Length && reader.ValueTextEquals(names[select]))
                {
                    slot = select++;
                }
                else if (reader.ValueTextEquals("attributes"u8) || !plan.SelectIndex.TryGetValue(reader.GetString()!, out slot))
                {
                    reader.Read();
                    reader.Skip();
                    continue;
                }

                reader.Read();
                var start = (int)reader.TokenStartIndex;
                if (slot == plan.IdSlot)
                {
                    id = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }
                else if (slot == plan.ModstampSlot)
                {
                    if (reader.TokenType == JsonTokenType.String && SalesforceTypes.TryReadDateTime(ref reader, out var stamp))
                    {
                        version = stamp;
                    }
                }
                else if (slot == plan.IsDeletedSlot)
                {
                    isDeleted = reader.TokenType == JsonTokenType.True;
                }

                var target = plan.RequestSlotOf[slot];
                if (target >= 0)
                {
                    var field = fields[target];
                    if (field.Kind == FieldKind.Text && reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && !reader.HasValueSequence)
                    {
                        var last = lastText[target];
                        values[target] = last is not null && Ascii.Equals(reader.ValueSpan, last) ? last : lastText[target] = reader.GetString();
                    }
                    else if (SalesforceTypes.TryRead(ref reader, body, field.Kind, out var converted))
                    {
                        values[target] = converted;
                    }
                    else
                    {
                        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                        {
                            reader.Skip();
                        }

                        var raw = Encoding.UTF8.GetString(body[start..(int)reader.BytesConsumed]);
                        misfits.Add(new ValueMisfit(id ?? "?", field.Name, SalesforceTypes.Truncate(raw), field.Kind));
                    }
                }
                else if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }
            }

            if (string.IsNullOrEmpty(id))
            {
                throw new SourceException($"Salesforce query: record {index} of the page has no Id", "MALFORMED_RESPONSE", 200);
            }

            if (version is null && plan.ModstampSlot >= 0)
            {
                throw new SourceException($"Salesforce query: record {id} has no valid SystemModstamp", "MALFORMED_RESPONSE", 200);
            }

            records.Add(new SourceRecord(id, values, version));
            deleted?.Add(isDeleted);
        }
    }
}
