// Makes the implicit Program class visible to WebApplicationFactory<Program> in the functional tests.
#pragma warning disable CA1050 // the entry point class lives in the global namespace by design
public partial class Program;
#pragma warning restore CA1050
