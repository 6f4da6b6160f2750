namespace Sequin.Proxy.Writes;

/// <summary>
/// A small SQL lexer — not a parser. It skips string literals (<c>'…'</c>, <c>E'…'</c>, dollar quotes),
/// quoted identifiers and comments, so that keywords inside them do not count. Used to decide whether a
/// statement may write (then the proxy wraps it and reads the capture) and to split a simple Query into
/// statements. A false positive only costs a wrapper; a write hidden from it (a function that writes) is refused
/// by the capture trigger, because the capture table exists only while the proxy wraps a statement.
/// </summary>
internal static class SqlText
{
    /// <summary>Whether <paramref name="sql"/> contains INSERT, UPDATE, DELETE or MERGE as a keyword.</summary>
    public static bool MayWrite(ReadOnlySpan<char> sql) =>
        // A static handler (no captured state, so no allocation: this runs for every statement of an inspected
        // session); the scan stops at the first write keyword.
        !Scan(sql, static (word, _) => !(word.Equals("insert", StringComparison.OrdinalIgnoreCase)
            || word.Equals("update", StringComparison.OrdinalIgnoreCase) || word.Equals("delete", StringComparison.OrdinalIgnoreCase)
            || word.Equals("merge", StringComparison.OrdinalIgnoreCase)), null);

    /// <summary>
    /// Whether <paramref name="sql"/> ends the current transaction block: COMMIT, END, ABORT, ROLLBACK (not
    /// <c>ROLLBACK TO SAVEPOINT</c>, not <c>… PREPARED</c>) or PREPARE TRANSACTION.
    /// </summary>
    public static bool EndsTransaction(ReadOnlySpan<char> sql)
    {
        var words = new List<string>(3);
        Scan(sql, (word, _) =>
        {
            words.Add(word.ToString().ToLowerInvariant());
            return words.Count < 4;
        }, null);
        if (words.Count == 0 || words.Contains("prepared"))
        {
            return false;
        }

        return words[0] switch
        {
            "commit" or "end" or "abort" => true,
            "rollback" => !words.Contains("to"),
            "prepare" => words.Count > 1 && words[1] == "transaction",
            _ => false,
        };
    }

    /// <summary>
    /// Whether a write batch must end before <paramref name="sql"/> runs: it ends the transaction
    /// (<see cref="EndsTransaction"/>) or changes its savepoints (SAVEPOINT, RELEASE, ROLLBACK TO), which would
    /// otherwise run inside the proxy's own <c>savepoint sequin_write</c> around the write.
    /// </summary>
    public static bool SplitsWriteBatch(ReadOnlySpan<char> sql)
    {
        if (EndsTransaction(sql))
        {
            return true;
        }

        string? first = null;
        Scan(sql, (word, _) =>
        {
            first = word.ToString().ToLowerInvariant();
            return false;
        }, null);
        return first is "savepoint" or "release" or "rollback";
    }

    /// <summary>Splits a multi-statement Query at top-level semicolons; empty statements are dropped.</summary>
    public static List<string> SplitStatements(string sql)
    {
        var result = new List<string>();
        var start = 0;
        Scan(sql, null, semicolon =>
        {
            var part = sql[start..semicolon].Trim();
            if (part.Length > 0)
            {
                result.Add(part);
            }

            start = semicolon + 1;
        });
        var last = sql[start..].Trim();
        if (last.Length > 0)
        {
            result.Add(last);
        }

        return result;
    }

    private delegate bool WordHandler(ReadOnlySpan<char> word, int position);

    /// <summary>Walks the words and top-level semicolons of <paramref name="sql"/>, outside comments, quoted strings and
    /// identifiers, and dollar quotes. Returns false when <paramref name="onWord"/> stopped the walk, true at the end.</summary>
    private static bool Scan(ReadOnlySpan<char> sql, WordHandler? onWord, Action<int>? onSemicolon)
    {
        var i = 0;
        var n = sql.Length;
        var parenDepth = 0;
        while (i < n)
        {
            var c = sql[i];
            if (c == '-' && i + 1 < n && sql[i + 1] == '-')
            {
                while (i < n && sql[i] != '\n')
                {
                    i++;
                }
            }
            else if (c == '/' && i + 1 < n && sql[i + 1] == '*')
            {
                var depth = 1;
                i += 2;
                while (i < n && depth > 0)
                {
                    if (sql[i] == '/' && i + 1 < n && sql[i + 1] == '*')
                    {
                        depth++;
                        i += 2;
                    }
                    else if (sql[i] == '*' && i + 1 < n && sql[i + 1] == '/')
                    {
                        depth--;
                        i += 2;
                    }
                    else
                    {
                        i++;
                    }
                }
            }
            else if (c == '\'')
            {
                var escapes = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e') && (i < 2 || !IsIdent(sql[i - 2]));
                i++;
                while (i < n)
                {
                    if (escapes && sql[i] == '\\')
                    {
                        i += 2;
                        continue;
                    }

                    if (sql[i] == '\'')
                    {
                        if (i + 1 < n && sql[i + 1] == '\'')
                        {
                            i += 2;
                            continue;
                        }

                        break;
                    }

                    i++;
                }

                i++;
            }
            else if (c == '"')
            {
                i++;
                while (i < n && sql[i] != '"')
                {
                    i++;
                }

                i++;
            }
            else if (c == '$' && (i == 0 || !IsIdent(sql[i - 1])))
            {
                // $tag$ … $tag$ (a bare $1 parameter is not a dollar quote)
                var end = i + 1;
                while (end < n && (char.IsLetter(sql[end]) || sql[end] == '_' || (end > i + 1 && char.IsDigit(sql[end]))))
                {
                    end++;
                }

                if (end < n && sql[end] == '$')
                {
                    var tag = sql[i..(end + 1)];
                    var close = sql[(end + 1)..].IndexOf(tag);
                    i = close < 0 ? n : end + 1 + close + tag.Length;
                }
                else
                {
                    i = end;
                }
            }
            else if (char.IsLetter(c) || c == '_')
            {
                var start = i;
                while (i < n && IsIdent(sql[i]))
                {
                    i++;
                }

                if (onWord is not null && !onWord(sql[start..i], start))
                {
                    return false;
                }
            }
            else
            {
                if (c == '(')
                {
                    parenDepth++;
                }
                else if (c == ')')
                {
                    parenDepth--;
                }
                else if (c == ';' && parenDepth <= 0)
                {
                    onSemicolon?.Invoke(i);
                }

                i++;
            }
        }

        return true;
    }

    private static bool IsIdent(char c) => char.IsLetterOrDigit(c) || c == '_' || c == '$';
}
