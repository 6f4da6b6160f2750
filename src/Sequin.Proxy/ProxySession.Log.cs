using Microsoft.Extensions.Logging;

namespace Sequin.Proxy;

internal sealed partial class ProxySession
{
    [LoggerMessage(Level = LogLevel.Information,
        Message = "Proxy session from {Remote} user {User} → database {Database} as {BackendRole} (tls={Tls}, synced tables={CaptureEnabled})")]
    private static partial void LogSessionStarted(ILogger logger, string remote, string user, string database, string backendRole, bool tls, bool captureEnabled);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Proxy session from {Remote} user {User} ended with {SqlState}: {Reason}")]
    private static partial void LogSessionEnded(ILogger logger, string remote, string user, string sqlState, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Proxy connection from {Remote} user {User} closed: {Reason}")]
    private static partial void LogConnectionClosed(ILogger logger, string remote, string user, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Proxy authentication failed from {Remote} for user {User}")]
    private static partial void LogAuthenticationFailed(ILogger logger, string remote, string user);

    [LoggerMessage(Level = LogLevel.Error, Message = "Proxy backend login failed for {User} as {BackendRole} from {Remote}: {Reason}")]
    private static partial void LogBackendLoginFailed(ILogger logger, string remote, string user, string backendRole, string reason);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Proxy session of {User}: values of {Table} written upstream could not be read back; committed without them, the sync will bring them: {Reason}")]
    private static partial void LogReadBackFailed(ILogger logger, string user, string table, string reason);
}
