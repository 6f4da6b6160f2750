using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Sequin.Sandbox.Salesforce.Activity;
using Sequin.Sandbox.Salesforce.Writes;
using Shouldly;

namespace Sequin.Sandbox.Tests;

/// <summary>Behaviour that depends on time, driven by a manual clock instead of waiting.</summary>
public sealed class TimeTests
{
    private static readonly DateTimeOffset Start = new(2024, 5, 8, 21, 20, 0, TimeSpan.Zero);

    [Fact]
    public void Validate_AccessTokenPastLifetime_IsRejected()
    {
        var time = new ManualTime(Start);
        var (sandbox, org) = TestOrgs.Create(time: time);
        sandbox.SetFaults(org.Id, new SandboxFaults { AccessTokenLifetimeSeconds = 60 });
        var tokens = sandbox.IssueTokens(org.Id);
        sandbox.Tokens.Validate(tokens.AccessToken).ShouldNotBeNull();
        time.Advance(TimeSpan.FromSeconds(61));
        sandbox.Tokens.Validate(tokens.AccessToken).ShouldBeNull();
        // The refresh token outlives the access token, which is what lets clients refresh.
        sandbox.Tokens.FindRefresh(tokens.RefreshToken!).ShouldNotBeNull();
    }

    [Fact]
    public void RedeemCode_SecondUseOrExpired_ReturnsNull()
    {
        var time = new ManualTime(Start);
        var (sandbox, org) = TestOrgs.Create(time: time);
        var grant = new Salesforce.Auth.AuthorizationCode(org.Id, "client", "http://localhost/cb", null, null, Start + TimeSpan.FromMinutes(5));
        var code = sandbox.Tokens.IssueCode(grant);
        sandbox.Tokens.RedeemCode(code).ShouldNotBeNull();
        sandbox.Tokens.RedeemCode(code).ShouldBeNull();
        var late = sandbox.Tokens.IssueCode(grant);
        time.Advance(TimeSpan.FromMinutes(6));
        sandbox.Tokens.RedeemCode(late).ShouldBeNull();
    }

    [Fact]
    public void PurgeRecycleBin_After15Days_RemovesRecordsAndMovesEarliestDateAvailable()
    {
        var time = new ManualTime(Start);
        var (_, org) = TestOrgs.Create(time: time);
        var type = org.Catalog.Lead;
        var id = RecordWriter.Save(org, [new WriteRequest(type, null, JsonDocument.Parse("""{"LastName":"A","Company":"B"}""").RootElement)], true, org.UserId)[0].Id!;
        RecordWriter.Delete(org, [id], true, org.UserId);
        org.PurgeRecycleBin();
        org.Table(type).DeletedCount.ShouldBe(1);
        org.PurgedThrough.ShouldBe(org.CreatedDate);
        time.Advance(TimeSpan.FromDays(15) + TimeSpan.FromMinutes(1));
        org.PurgeRecycleBin();
        org.Table(type).DeletedCount.ShouldBe(0);
        org.Table(type).Find(id).ShouldBeNull();
        org.PurgedThrough.ShouldBe(org.UtcNow - TimeSpan.FromDays(15));
    }

    [Fact]
    public void RunOnce_ActivityEnabled_DoesTheConfiguredNumberOfOperations()
    {
        var time = new ManualTime(Start);
        var (sandbox, org) = TestOrgs.Create(new SandboxSeedSpec { Accounts = 20, ContactsPerAccount = 3 }, time: time);
        sandbox.SetActivity(org.Id, new SandboxActivity { Enabled = true, OperationsPerSecond = 10, CreateWeight = 1, UpdateWeight = 1, DeleteWeight = 1 });
        var service = new SandboxBackgroundService(sandbox, time, NullLogger<SandboxBackgroundService>.Instance);
        for (var i = 0; i < 25; i++)
        {
            service.RunOnce(TimeSpan.FromMilliseconds(100)); // 2.5 s at 10 ops/s
        }
        var status = sandbox.GetActivity(org.Id);
        (status.Creates + status.Updates + status.Deletes).ShouldBe(25);
        status.Creates.ShouldBeGreaterThan(0);
        status.Deletes.ShouldBeGreaterThan(0);
        sandbox.CountRecords(org.Id, "Contact", includeDeleted: true).ShouldBeGreaterThanOrEqualTo(60);
    }

    [Fact]
    public void RunOnce_FractionalRate_CarriesRemainder()
    {
        var time = new ManualTime(Start);
        var (sandbox, org) = TestOrgs.Create(new SandboxSeedSpec { Accounts = 2 }, time: time);
        sandbox.SetActivity(org.Id, new SandboxActivity { Enabled = true, OperationsPerSecond = 0.5, Objects = ["Account"] });
        var service = new SandboxBackgroundService(sandbox, time, NullLogger<SandboxBackgroundService>.Instance);
        for (var i = 0; i < 40; i++)
        {
            service.RunOnce(TimeSpan.FromMilliseconds(100)); // 4 s at 0.5 ops/s
        }
        var status = sandbox.GetActivity(org.Id);
        (status.Creates + status.Updates + status.Deletes).ShouldBe(2);
    }

    [Fact]
    public void SetActivity_UnknownObject_Throws()
    {
        var (sandbox, org) = TestOrgs.Create();
        Should.Throw<ArgumentException>(() => sandbox.SetActivity(org.Id, new SandboxActivity { Objects = ["Nope"] }));
        Should.Throw<KeyNotFoundException>(() => sandbox.GetActivity("00D000000000000AAA"));
    }
}
