namespace Sequin.Platform.Hosting;

/// <summary>
/// One line of the start-up banner the host prints once it listens ("Proxy  postgres://…"). Components
/// register instances with <c>services.AddSingleton(new BannerLine(...))</c>; <see cref="Value"/> is evaluated
/// after start-up, when ports and embedded services are known.
/// </summary>
/// <param name="Order">Sort key: lower first (HTTP 10, dashboard 20, proxy 30, database 40, sandbox 50).</param>
/// <param name="Label">Short label, e.g. <c>Proxy</c>.</param>
/// <param name="Value">Produces the text, e.g. a URL; null hides the line.</param>
public sealed record BannerLine(int Order, string Label, Func<IServiceProvider, string?> Value);
