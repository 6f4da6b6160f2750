using Sequin.Host;
using Sequin.Platform;

var builder = WebApplication.CreateBuilder(args);
builder.AddSequinDefaults();
builder.Services.AddSequinPlatform(builder.Configuration);

var app = builder.Build();
app.MapSequinDefaults();

return await app.RunSequinAsync();
