using System.ComponentModel.DataAnnotations.Schema;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Npgsql;

// Each check prints "ok - name" or "not ok - name" with the reason; the last line is "N passed, N failed".
var env = (string name) => Environment.GetEnvironmentVariable(name) ?? throw new InvalidOperationException($"{name} is not set");
var proxy = new NpgsqlConnectionStringBuilder
{
    Host = env("PGHOST"), Port = int.Parse(env("PGPORT"), System.Globalization.CultureInfo.InvariantCulture),
    Username = env("PGUSER"), Password = env("PGPASSWORD"), Database = env("PGDATABASE"),
    SslMode = SslMode.Require, Pooling = false, IncludeErrorDetail = true,
}.ConnectionString;
var direct = new NpgsqlConnectionStringBuilder
{
    Host = "127.0.0.1", Port = int.Parse(env("DIRECT_PORT"), System.Globalization.CultureInfo.InvariantCulture),
    Username = env("DIRECT_USER"), Password = env("DIRECT_PASSWORD"), Database = env("PGDATABASE"), Pooling = false,
}.ConnectionString;
using var http = new HttpClient { BaseAddress = new Uri(env("UPSTREAM_URL")) };
int passed = 0, failed = 0;

async Task Check(string name, Func<Task> body)
{
    try
    {
        await body();
        passed++;
        Console.WriteLine($"ok - {name}");
    }
    catch (Exception e)
    {
        failed++;
        Console.WriteLine($"not ok - {name}");
        Console.WriteLine("# " + e.ToString().Replace("\n", "\n# ", StringComparison.Ordinal));
    }
}

void Assert(bool condition, string what)
{
    if (!condition)
    {
        throw new InvalidOperationException("expected: " + what);
    }
}

async Task<Dictionary<string, JsonElement>> Upstream(string sobject) =>
    (await http.GetFromJsonAsync<Dictionary<string, JsonElement>>($"/upstream/{sobject}"))!;

async Task<long> DirectCount(string sql, params object[] args)
{
    await using var c = new NpgsqlConnection(direct);
    await c.OpenAsync();
    await using var cmd = new NpgsqlCommand(sql, c);
    foreach (var a in args)
    {
        cmd.Parameters.AddWithValue(a);
    }

    return (long)(await cmd.ExecuteScalarAsync())!;
}

async Task<bool> Stays(Func<Task<bool>> condition)
{
    // Holds now and for the next 3 s: the sync polls alongside the proxy, and a record it read just before a delete
    // through the proxy must not come back (the delete's tombstone, docs/proxy.md).
    for (var deadline = DateTime.UtcNow.AddSeconds(3); DateTime.UtcNow < deadline; await Task.Delay(100))
    {
        if (!await condition())
        {
            return false;
        }
    }

    return true;
}

async Task<bool> Eventually(Func<Task<bool>> condition)
{
    // The database agrees with the sandbox once the sync has polled (e.g. after a suite's ROLLBACK elsewhere).
    for (var deadline = DateTime.UtcNow.AddSeconds(15); DateTime.UtcNow < deadline; await Task.Delay(250))
    {
        if (await condition())
        {
            return true;
        }
    }

    return await condition();
}

await Check("Npgsql over TLS (SCRAM-SHA-256) reads as the backend role", async () =>
{
    await using var c = new NpgsqlConnection(proxy);
    await c.OpenAsync();
    await using var cmd = new NpgsqlCommand("select current_user, $1::int + 1, (select count(*) from salesforce.contact)", c);
    cmd.Parameters.AddWithValue(41);
    await using var r = await cmd.ExecuteReaderAsync();
    await r.ReadAsync();
    Assert(r.GetString(0) == env("BACKEND_ROLE"), $"current_user {env("BACKEND_ROLE")}, got {r.GetString(0)}");
    Assert(r.GetInt32(1) == 42, "42");
    Assert(r.GetInt64(2) == (await Upstream("Contact")).Count, "the synced contacts are the sandbox's");
});

await Check("Npgsql prepared statements (Parse once, Bind/Execute many)", async () =>
{
    await using var c = new NpgsqlConnection(proxy);
    await c.OpenAsync();
    await using var cmd = new NpgsqlCommand("select count(*) from salesforce.account where name <> $1", c);
    cmd.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
    await cmd.PrepareAsync();
    Assert(cmd.IsPrepared, "prepared");
    for (var i = 0; i < 5; i++)
    {
        cmd.Parameters[0].Value = "x" + i;
        Assert((long)(await cmd.ExecuteScalarAsync())! > 0, "rows");
    }
});

await Check("Npgsql prepared INSERT … RETURNING id applies upstream first and returns the real id", async () =>
{
    await using var c = new NpgsqlConnection(proxy);
    await c.OpenAsync();
    await using var cmd = new NpgsqlCommand("insert into salesforce.contact (last_name, email) values ($1, $2) returning id", c);
    cmd.Parameters.AddWithValue("Idaho");
    cmd.Parameters.AddWithValue("");
    await cmd.PrepareAsync();
    var ids = new List<string>();
    for (var i = 0; i < 3; i++)
    {
        cmd.Parameters[1].Value = $"duncan{i}.{Guid.NewGuid():N}@ginaz.io";
        ids.Add((string)(await cmd.ExecuteScalarAsync())!);
    }

    var upstream = await Upstream("Contact");
    foreach (var id in ids)
    {
        Assert(id.Length == 18 && id.StartsWith("003", StringComparison.Ordinal), $"an 18-character Contact id, got {id}");
        Assert(upstream.ContainsKey(id), $"{id} exists in the sandbox");
        Assert(await DirectCount("select count(*) from salesforce.contact where id = $1", id) == 1, $"{id} is in the database");
    }
});

await Check("Npgsql prepared INSERT/UPDATE … RETURNING (binary) carry the sandbox's CreatedDate and SystemModstamp, and so does the stored row", async () =>
{
    static DateTime Utc(JsonElement value) => DateTime.Parse(value.GetString()!, System.Globalization.CultureInfo.InvariantCulture,
        System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);
    await using var c = new NpgsqlConnection(proxy);
    await c.OpenAsync();
    await using var insert = new NpgsqlCommand("insert into salesforce.account (name) values ($1) returning id, created_date, system_modstamp", c);
    insert.Parameters.AddWithValue("");
    await insert.PrepareAsync(); // executions send Bind/Execute without a Describe
    for (var i = 0; i < 2; i++)
    {
        insert.Parameters[0].Value = $"Ginaz {i} {Guid.NewGuid():N}";
        string id;
        DateTime created, modstamp;
        await using (var r = await insert.ExecuteReaderAsync())
        {
            Assert(await r.ReadAsync(), "a row");
            (id, created, modstamp) = (r.GetString(0), r.GetDateTime(1), r.GetDateTime(2));
        }

        var record = (await Upstream("Account"))[id];
        Assert(created == Utc(record.GetProperty("CreatedDate")), $"RETURNING created_date {created:O} is the sandbox's {record.GetProperty("CreatedDate")}");
        Assert(modstamp == Utc(record.GetProperty("SystemModstamp")), $"RETURNING system_modstamp {modstamp:O} is the sandbox's {record.GetProperty("SystemModstamp")}");
        Assert(await DirectCount("select count(*) from salesforce.account where id = $1 and created_date = $2 and system_modstamp = $3", id, created, modstamp) == 1,
            "the stored row has the same values");

        await using var update = new NpgsqlCommand("update salesforce.account set name = name || ' (updated)' where id = $1 returning system_modstamp", c);
        update.Parameters.AddWithValue(id);
        var updated = (DateTime)(await update.ExecuteScalarAsync())!;
        var after = (await Upstream("Account"))[id];
        Assert(updated == Utc(after.GetProperty("SystemModstamp")) && updated > modstamp, $"the update's RETURNING system_modstamp {updated:O} is the sandbox's new one");
        Assert(await DirectCount("select count(*) from salesforce.account where id = $1 and system_modstamp = $2", id, updated) == 1, "stored after the update");
    }
});

await Check("EF Core SaveChanges: insert (real id back), update, delete — both sides agree", async () =>
{
    var email = $"gurney.{Guid.NewGuid():N}@caladan.io";
    string id;
    await using (var db = new Salesforce(proxy))
    {
        var contact = new Contact { LastName = "Halleck", Email = email };
        db.Contacts.Add(contact);
        Assert(await db.SaveChangesAsync() == 1, "1 row saved");
        id = contact.Id;
    }

    Assert(id.Length == 18 && id.StartsWith("003", StringComparison.Ordinal), $"the upstream id, got {id}");
    Assert((await Upstream("Contact"))[id].GetProperty("Email").GetString() == email, "the sandbox has the email");

    await using (var db = new Salesforce(proxy))
    {
        var contact = await db.Contacts.SingleAsync(c => c.Id == id);
        contact.Title = "Warmaster";
        Assert(await db.SaveChangesAsync() == 1, "1 row updated");
    }

    Assert((await Upstream("Contact"))[id].GetProperty("Title").GetString() == "Warmaster", "the sandbox has the title");
    Assert(await DirectCount("select count(*) from salesforce.contact where id = $1 and title = 'Warmaster'", id) == 1, "the database too");

    await using (var db = new Salesforce(proxy))
    {
        db.Contacts.Remove(await db.Contacts.SingleAsync(c => c.Id == id));
        Assert(await db.SaveChangesAsync() == 1, "1 row deleted");
    }

    Assert(!(await Upstream("Contact")).ContainsKey(id), "gone from the sandbox");
    Assert(await Stays(async () => await DirectCount("select count(*) from salesforce.contact where id = $1", id) == 0), "gone from the database, for good");
});

await Check("EF Core: a rejected write is a DbUpdateException over PostgresException 23514 naming the column; nothing changed", async () =>
{
    var before = (await Upstream("Contact")).Count;
    await using var db = new Salesforce(proxy);
    db.Contacts.Add(new Contact { LastName = "Rabban", Email = "beast.giedi" });
    try
    {
        await db.SaveChangesAsync();
        throw new InvalidOperationException("expected: a DbUpdateException");
    }
    catch (DbUpdateException e) when (e.InnerException is PostgresException pg)
    {
        Assert(pg.SqlState == "23514", $"23514, got {pg.SqlState}");
        Assert(pg.ColumnName == "email", $"column email, got {pg.ColumnName}");
        Assert(pg.MessageText.StartsWith("[Salesforce] validation error", StringComparison.Ordinal), pg.MessageText);
        Assert(pg.Detail == "Key (email)=(beast.giedi) is not a valid email address.", $"DETAIL, got {pg.Detail}");
    }

    Assert((await Upstream("Contact")).Count == before, "the sandbox unchanged");
    Assert(await DirectCount("select count(*) from salesforce.contact where email = 'beast.giedi'") == 0, "the database unchanged");
});

await Check("database and sandbox agree on contacts", async () =>
    Assert(await Eventually(async () => await DirectCount("select count(*) from salesforce.contact") == (await Upstream("Contact")).Count),
        "equal counts"));

Console.WriteLine($"{passed} passed, {failed} failed");
return failed == 0 ? 0 : 1;

[Table("contact", Schema = "salesforce")]
internal sealed class Contact
{
    [Column("id")]
    [DatabaseGenerated(DatabaseGeneratedOption.Identity)]
    public string Id { get; set; } = null!;

    [Column("last_name")]
    public string? LastName { get; set; }

    [Column("email")]
    public string? Email { get; set; }

    [Column("title")]
    public string? Title { get; set; }
}

internal sealed class Salesforce(string connectionString) : DbContext
{
    public DbSet<Contact> Contacts => Set<Contact>();

    protected override void OnConfiguring(DbContextOptionsBuilder options) => options.UseNpgsql(connectionString);

    // The table's default gives a temporary id; the proxy answers RETURNING with the upstream id.
    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.Entity<Contact>().Property(c => c.Id).HasDefaultValueSql("('_sequin_tmp_' || gen_random_uuid())");
}
