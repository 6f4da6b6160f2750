using Sequin.ControlPlane;
using Sequin.Host;
using Sequin.Platform;

var builder = WebApplication.CreateBuilder(args);
builder.AddSequinDefaults();
builder.Services.AddSequinPlatform(builder.Configuration);
builder.Services.AddSequinControlPlane(builder.Configuration);

var app = builder.Build();
app.MapSequinDefaults();
app.UseSequinControlPlane();

return await app.RunSequinAsync();
