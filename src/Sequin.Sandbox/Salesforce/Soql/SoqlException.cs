namespace Sequin.Sandbox.Salesforce.Soql;

/// <summary>
/// A query Salesforce would reject. the message is already in Salesforce's shape: the
/// query echoed on its own line, a caret under the offending column, <c>ERROR at Row:r:Column:c</c>
/// and the reason (for example <c>unexpected token: 'FRM'</c>).
/// </summary>
internal sealed class SoqlException : Exception
{
    public SoqlException(string errorCode, string message) : base(message) => ErrorCode = errorCode;

    /// <summary>MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, INVALID_QUERY_FILTER_OPERATOR, ...</summary>
    public string ErrorCode { get; }

    public static SoqlException At(string errorCode, string query, int position, string reason)
    {
        // Salesforce counts rows and columns from 1 and echoes the row that holds the error.
        var row = 1;
        var lineStart = 0;
        for (var i = 0; i < position && i < query.Length; i++)
        {
            if (query[i] == '\n')
            {
                row++;
                lineStart = i + 1;
            }
        }
        var lineEnd = query.IndexOf('\n', lineStart);
        var line = lineEnd < 0 ? query[lineStart..] : query[lineStart..lineEnd];
        var column = position - lineStart + 1;
        var caret = new string(' ', Math.Max(0, column - 1)) + "^";
        return new SoqlException(errorCode, $"\n{line}\n{caret}\nERROR at Row:{row}:Column:{column}\n{reason}");
    }
}
