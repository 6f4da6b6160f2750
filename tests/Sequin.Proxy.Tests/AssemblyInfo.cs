using Sequin.Testing;

[assembly: AssemblyFixture(typeof(PostgresServer))]
