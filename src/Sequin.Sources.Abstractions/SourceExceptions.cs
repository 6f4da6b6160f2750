namespace Sequin.Sources;

/// <summary>A source call failed. <see cref="Code"/> is the source's error code when it sent one.</summary>
public class SourceException : Exception
{
    public SourceException() { }

    public SourceException(string message) : base(message) { }

    public SourceException(string message, Exception? inner) : base(message, inner) { }

    /// <summary>Creates an error with the source's code and HTTP status.</summary>
    public SourceException(string message, string? code, int? status, Exception? inner = null) : base(message, inner)
    {
        Code = code;
        Status = status;
    }

    /// <summary>Source error code (<c>MALFORMED_QUERY</c>, <c>INVALID_FIELD</c>, ...), if any.</summary>
    public string? Code { get; }

    /// <summary>HTTP status, if any.</summary>
    public int? Status { get; }
}

/// <summary>Credentials are revoked or invalid and cannot be refreshed: the user must reconnect the source.</summary>
public sealed class SourceAuthException : SourceException
{
    public SourceAuthException() { }

    public SourceAuthException(string message) : base(message) { }

    public SourceAuthException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>The connection's budget is spent (daily share or upstream limit): pause until <see cref="RetryAfter"/>.</summary>
public sealed class SourceThrottledException : SourceException
{
    public SourceThrottledException() { }

    public SourceThrottledException(string message) : base(message) { }

    public SourceThrottledException(string message, Exception? inner) : base(message, inner) { }

    /// <summary>Creates a throttle notice with the time to wait.</summary>
    public SourceThrottledException(string message, TimeSpan retryAfter) : base(message) => RetryAfter = retryAfter;

    /// <summary>How long to wait before asking again.</summary>
    public TimeSpan RetryAfter { get; } = TimeSpan.FromMinutes(1);
}

/// <summary>The source's change log no longer covers the cursor (Salesforce getDeleted <c>earliestDateAvailable</c>): re-backfill.</summary>
public sealed class SourceResyncRequiredException : SourceException
{
    public SourceResyncRequiredException() { }

    public SourceResyncRequiredException(string message) : base(message) { }

    public SourceResyncRequiredException(string message, Exception? inner) : base(message, inner) { }
}
