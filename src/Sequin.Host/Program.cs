using Sequin.ControlPlane;
using Sequin.Host;
using Sequin.Platform;
using Sequin.Sync;

var builder = WebApplication.CreateBuilder(args);
builder.AddSequinDefaults();
builder.Services.AddSequinPlatform(builder.Configuration);
builder.Services.AddSequinSync(builder.Configuration);
builder.Services.AddSequinProxy(builder.Configuration);
builder.Services.AddSingleton<Sequin.Proxy.Writes.IUpstreamWriter, Sequin.Host.Writes.ConnectorUpstreamWriter>();
builder.Services.AddSequinControlPlane(builder.Configuration);
builder.AddSequinSandbox();
builder.AddSequinWeb();

var app = builder.Build();
app.MapSequinDefaults();
app.UseSequinControlPlane();
app.MapSequinSandbox();
app.MapSequinSyncAdmin();
app.MapSequinWeb();

return await app.RunSequinAsync();
