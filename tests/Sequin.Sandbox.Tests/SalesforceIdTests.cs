using Sequin.Sandbox.Salesforce.Ids;
using Shouldly;

namespace Sequin.Sandbox.Tests;

public sealed class SalesforceIdTests
{
    [Theory]
    [InlineData("001A0000006Vm9r", "IAC")] // the example in Salesforce's case-safe id article
    [InlineData("003000000000000", "AAA")]
    [InlineData("ABCDEABCDEABCDE", "555")]
    public void Suffix_KnownId_MatchesSalesforceChecksum(string id15, string expected) =>
        SalesforceId.Suffix(id15).ShouldBe(expected);

    [Fact]
    public void TryNormalize_FifteenCharacters_AppendsSuffix()
    {
        SalesforceId.TryNormalize("001A0000006Vm9r", out var id).ShouldBeTrue();
        id.ShouldBe("001A0000006Vm9rIAC");
    }

    [Fact]
    public void TryNormalize_EighteenCharactersInWrongCase_RestoresCase()
    {
        SalesforceId.TryNormalize("001a0000006vm9riac", out var id).ShouldBeTrue();
        id.ShouldBe("001A0000006Vm9rIAC");
    }

    [Theory]
    [InlineData("001A0000006Vm9")]
    [InlineData("001A0000006Vm9r-AC")]
    [InlineData("001A0000006Vm9r!AC")]
    [InlineData("0010000000000009AB")] // suffix claims upper-case letters where there are digits
    public void TryNormalize_Malformed_ReturnsFalse(string text) =>
        SalesforceId.TryNormalize(text, out _).ShouldBeFalse();

    [Fact]
    public void Create_Counter_IsEighteenCharactersWithPrefixAndValidSuffix()
    {
        var id = SalesforceId.Create("003", "5g", 123_456);
        id.Length.ShouldBe(18);
        id.ShouldStartWith("0035g");
        SalesforceId.Suffix(id.AsSpan(0, 15)).ShouldBe(id.Substring(15));
        string.CompareOrdinal(SalesforceId.Create("003", "5g", 61), SalesforceId.Create("003", "5g", 62)).ShouldBeLessThan(0);
    }
}
