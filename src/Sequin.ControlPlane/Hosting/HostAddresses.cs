using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Sequin.ControlPlane.Hosting;

/// <summary>
/// This host's own base URL for calls it makes to itself (the embedded sandbox) and for the banner: the first
/// address Kestrel listens on, with a wildcard host (<c>0.0.0.0</c>, <c>[::]</c>, <c>+</c>, <c>*</c>) replaced by
/// <c>127.0.0.1</c>. Never derived from a request's Host header.
/// </summary>
public static class HostAddresses
{
    /// <summary>The first listen address (null before the server has bound, or in-memory test servers).</summary>
    public static string? Listening(IServer server) =>
        server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() is { } address ? Loopback(address) : null;

    /// <summary>The first of <c>;</c>-separated URLs with a wildcard host made loopback, without a trailing slash.</summary>
    public static string Loopback(string urls) =>
        urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0]
            .Replace("://0.0.0.0", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://[::]", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://+", "://127.0.0.1", StringComparison.Ordinal)
            .Replace("://*", "://127.0.0.1", StringComparison.Ordinal)
            .TrimEnd('/');
}
