namespace Sequin.Proxy.Protocol;

/// <summary>
/// A violation that ends the session: the proxy answers an ErrorResponse with <see cref="SqlState"/> (FATAL)
/// and closes the connection.
/// </summary>
internal sealed class ProtocolException(string sqlState, string message) : Exception(message)
{
    public string SqlState { get; } = sqlState;
}

/// <summary>Keeps throws out of the hot paths (Npgsql's ThrowHelper idiom).</summary>
internal static class ThrowHelper
{
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void ThrowProtocol(string message) => throw new ProtocolException(Protocol.SqlState.ProtocolViolation, message);
}
