using Sequin.Testing;

[assembly: AssemblyFixture(typeof(PostgresServer))]
[assembly: AssemblyFixture(typeof(Sequin.Sync.Tests.SandboxServer))]
