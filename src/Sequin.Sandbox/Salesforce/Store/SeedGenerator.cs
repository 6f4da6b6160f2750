using Sequin.Sandbox.Salesforce.Schema;
using Sequin.Sandbox.Salesforce.Writes;

namespace Sequin.Sandbox.Salesforce.Store;

/// <summary>
/// Deterministic seed data: one seeded <see cref="Random"/> drives every value, so the same spec
/// always yields the same records and ids. Records are appended straight into the tables (no JSON,
/// no validation pass: the generator only produces valid values) and share string instances from
/// small pools, which is what makes a million-record org take seconds and modest memory.
/// </summary>
internal static class SeedGenerator
{
    private static readonly string[] FirstNames =
    [
        "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William", "Elizabeth", "David",
        "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen", "Amara", "Wei", "Yuki",
        "Olga", "Mateo", "Fatima", "Lars", "Priya", "Kwame", "Sofia", "Noah", "Aiko", "Ingrid", "Omar", "Chloé", "Zoë",
    ];

    private static readonly string[] LastNames =
    [
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez",
        "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Perez",
        "Thompson", "White", "Nakamura", "Okafor", "Schmidt", "Rossi", "Dubois", "Novak", "Kowalski", "Andersson", "O'Brien",
    ];

    private static readonly string[] CompanyWords =
    [
        "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne", "Soylent", "Hooli",
        "Vandelay", "Pied Piper", "Dunder", "Aperture", "Massive", "Oscorp", "Gringotts", "Monarch", "Nakatomi",
    ];

    private static readonly string[] CompanySuffixes = ["Inc.", "LLC", "Corp.", "Group", "Holdings", "GmbH", "S.A.", "Ltd."];
    private static readonly string[] Cities = ["San Francisco", "New York", "Chicago", "Austin", "London", "Paris", "Berlin", "Tokyo", "Toronto", "Sydney"];
    private static readonly string[] States = ["CA", "NY", "IL", "TX", "ENG", "IDF", "BE", "13", "ON", "NSW"];
    private static readonly string[] Countries = ["United States", "United States", "United States", "United States", "United Kingdom", "France", "Germany", "Japan", "Canada", "Australia"];
    private static readonly string[] Titles = ["CEO", "CTO", "VP Sales", "Engineer", "Director of Operations", "Buyer", "Account Manager", "Analyst", null!];
    private static readonly string[] Departments = ["Sales", "Engineering", "Finance", "Operations", "Marketing", null!];

    /// <summary>Creates the org's users (integration user first) and returns the integration user's id.</summary>
    public static void SeedUsers(Org org, int owners)
    {
        var type = org.Catalog.User;
        var rng = new Random(7);
        var ids = new List<string>();
        // Users predate the seeded history (which spans the last 20 days), so stamps follow insertion order.
        var provisioned = org.UtcNow - TimeSpan.FromDays(21);
        lock (org.WriteGate)
        {
            for (var i = 0; i <= owners; i++)
            {
                var first = i == 0 ? "Integration" : FirstNames[rng.Next(FirstNames.Length)];
                var last = i == 0 ? "User" : LastNames[rng.Next(LastNames.Length)];
                var alias = (first[..1] + last).ToLowerInvariant();
                var values = new object?[type.SlotCount];
                Set(type, values, "FirstName", first);
                Set(type, values, "LastName", last);
                Set(type, values, "Username", $"{alias}{i}@{org.Name.ToLowerInvariant().Replace(' ', '-')}.sandbox.example");
                Set(type, values, "Email", $"{alias}{i}@example.com");
                Set(type, values, "Alias", alias.Length > 8 ? alias[..8] : alias);
                Set(type, values, "CommunityNickname", $"{alias}{i}");
                Set(type, values, "IsActive", true);
                Set(type, values, "TimeZoneSidKey", "America/Los_Angeles");
                Set(type, values, "LocaleSidKey", "en_US");
                Set(type, values, "EmailEncodingKey", "UTF-8");
                Set(type, values, "LanguageLocaleKey", "en_US");
                Set(type, values, "Title", i == 0 ? "API Integration" : "Account Executive");
                RecordWriter.Derive(type, values, null);
                var record = Stamp(org, type, values, provisioned.AddMilliseconds(i), ids.Count > 0 ? ids[0] : null);
                ids.Add(record.Id);
            }
        }
        org.UserId = ids[0];
        org.OwnerIds = ids.Count > 1 ? ids.Skip(1).ToArray() : ids.ToArray();
    }

    /// <summary>Seeds accounts with contacts and opportunities, leads and custom records.</summary>
    public static void Seed(Org org, SandboxSeedSpec spec)
    {
        var rng = new Random(spec.RandomSeed);
        var catalog = org.Catalog;
        var account = catalog.Account;
        var contact = catalog.Contact;
        var opportunity = catalog.Opportunity;
        var lead = catalog.Lead;
        var customTypes = catalog.Objects.Where(o => o.Custom).ToList();
        long total = (long)spec.Accounts * (1 + spec.ContactsPerAccount + spec.OpportunitiesPerAccount) + spec.Leads
            + ((long)spec.CustomObjectRecords * customTypes.Count);
        if (total == 0)
        {
            return;
        }
        // Seeded history is spread over the last 20 days (inside the getUpdated/getDeleted windows),
        // strictly increasing and ending before now, so live writes always stamp later than seeds.
        var now = org.UtcNow;
        var span = TimeSpan.FromDays(20).Ticks;
        var step = Math.Max(TimeSpan.TicksPerMillisecond, span / total);
        step -= step % TimeSpan.TicksPerMillisecond;
        var clock = now.Ticks - (step * (total + 1));
        DateTime NextTime() => new(clock += step, DateTimeKind.Utc);
        var owners = org.OwnerIds;
        var userId = org.UserId;
        lock (org.WriteGate)
        {
            org.Table(account).EnsureCapacity(org.Table(account).LiveCount + spec.Accounts);
            org.Table(contact).EnsureCapacity(org.Table(contact).LiveCount + (spec.Accounts * spec.ContactsPerAccount));
            org.Table(opportunity).EnsureCapacity(org.Table(opportunity).LiveCount + (spec.Accounts * spec.OpportunitiesPerAccount));
            for (var a = 0; a < spec.Accounts; a++)
            {
                var values = NewAccount(account, rng, a);
                Set(account, values, "OwnerId", owners[rng.Next(owners.Count)]);
                var acc = Stamp(org, account, values, NextTime(), userId);
                var company = (string)values[account.NameField!.Ordinal]!;
                var domain = Domain(company);
                for (var c = 0; c < spec.ContactsPerAccount; c++)
                {
                    var cv = NewContact(contact, rng, domain);
                    Set(contact, cv, "AccountId", acc.Id);
                    Set(contact, cv, "OwnerId", owners[rng.Next(owners.Count)]);
                    Stamp(org, contact, cv, NextTime(), userId);
                }
                for (var o = 0; o < spec.OpportunitiesPerAccount; o++)
                {
                    var ov = NewOpportunity(opportunity, rng, company, now);
                    Set(opportunity, ov, "AccountId", acc.Id);
                    Set(opportunity, ov, "OwnerId", owners[rng.Next(owners.Count)]);
                    Stamp(org, opportunity, ov, NextTime(), userId);
                }
            }
            for (var l = 0; l < spec.Leads; l++)
            {
                var lv = NewLead(lead, rng);
                Set(lead, lv, "OwnerId", owners[rng.Next(owners.Count)]);
                Stamp(org, lead, lv, NextTime(), userId);
            }
            foreach (var type in customTypes)
            {
                for (var n = 0; n < spec.CustomObjectRecords; n++)
                {
                    var values = NewCustom(type, rng, n);
                    Set(type, values, "OwnerId", owners[rng.Next(owners.Count)]);
                    Stamp(org, type, values, NextTime(), userId);
                }
            }
        }
    }

    /// <summary>Values for one new record of any supported object (used by live activity).</summary>
    public static object?[] NewValues(Org org, ObjectDef type, Random rng)
    {
        var catalog = org.Catalog;
        object?[] values;
        if (type == catalog.Account)
        {
            values = NewAccount(type, rng, rng.Next(1_000_000));
        }
        else if (type == catalog.Contact)
        {
            values = NewContact(type, rng, "example.com");
            var accounts = org.Table(catalog.Account).Snapshot().Span;
            // Attach to a random live account when there is one, as real data would be.
            for (var attempt = 0; attempt < 5 && accounts.Length > 0; attempt++)
            {
                if (accounts[rng.Next(accounts.Length)] is { IsDeleted: false } acc)
                {
                    Set(type, values, "AccountId", acc.Id);
                    break;
                }
            }
        }
        else if (type == catalog.Opportunity)
        {
            values = NewOpportunity(type, rng, CompanyWords[rng.Next(CompanyWords.Length)], org.UtcNow);
        }
        else if (type == catalog.Lead)
        {
            values = NewLead(type, rng);
        }
        else
        {
            values = NewCustom(type, rng, rng.Next(1_000_000));
        }
        if (type.OwnerId is { } owner)
        {
            values[owner.Ordinal] = org.OwnerIds[rng.Next(org.OwnerIds.Count)];
        }
        return values;
    }

    private static object?[] NewAccount(ObjectDef type, Random rng, int n)
    {
        var values = new object?[type.SlotCount];
        var name = $"{CompanyWords[rng.Next(CompanyWords.Length)]} {CompanySuffixes[rng.Next(CompanySuffixes.Length)]} #{n + 1}";
        Set(type, values, "Name", name);
        Set(type, values, "Type", Pick(type, "Type", rng));
        Set(type, values, "Industry", Pick(type, "Industry", rng));
        Set(type, values, "Rating", Pick(type, "Rating", rng));
        Set(type, values, "Phone", Phone(rng));
        Set(type, values, "Website", "https://www." + Domain(name));
        Set(type, values, "NumberOfEmployees", rng.Next(1, 50_000));
        Set(type, values, "AnnualRevenue", (double)(rng.Next(1, 10_000) * 10_000L));
        var city = rng.Next(Cities.Length);
        Set(type, values, "BillingStreet", $"{rng.Next(1, 9999)} Market St");
        Set(type, values, "BillingCity", Cities[city]);
        Set(type, values, "BillingState", States[city]);
        Set(type, values, "BillingPostalCode", rng.Next(10000, 99999).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Set(type, values, "BillingCountry", Countries[city]);
        return values;
    }

    private static object?[] NewContact(ObjectDef type, Random rng, string domain)
    {
        var values = new object?[type.SlotCount];
        var first = FirstNames[rng.Next(FirstNames.Length)];
        var last = LastNames[rng.Next(LastNames.Length)];
        Set(type, values, "FirstName", first);
        Set(type, values, "LastName", last);
        Set(type, values, "Salutation", Pick(type, "Salutation", rng));
        Set(type, values, "Email", $"{first}.{last}{rng.Next(1000)}@{domain}".ToLowerInvariant().Replace("'", "", StringComparison.Ordinal));
        Set(type, values, "Phone", Phone(rng));
        Set(type, values, "Title", Titles[rng.Next(Titles.Length)]);
        Set(type, values, "Department", Departments[rng.Next(Departments.Length)]);
        Set(type, values, "LeadSource", Pick(type, "LeadSource", rng));
        var city = rng.Next(Cities.Length);
        Set(type, values, "MailingCity", Cities[city]);
        Set(type, values, "MailingCountry", Countries[city]);
        Set(type, values, "Birthdate", new DateOnly(1950 + rng.Next(50), 1 + rng.Next(12), 1 + rng.Next(28)));
        Set(type, values, "HasOptedOutOfEmail", rng.Next(10) == 0);
        Set(type, values, "DoNotCall", false);
        RecordWriter.Derive(type, values, null);
        return values;
    }

    private static object?[] NewOpportunity(ObjectDef type, Random rng, string company, DateTime now)
    {
        var values = new object?[type.SlotCount];
        Set(type, values, "Name", $"{company} - {rng.Next(1, 500)} units");
        Set(type, values, "StageName", StandardObjects.Stages[rng.Next(StandardObjects.Stages.Length)]);
        Set(type, values, "Amount", (double)(rng.Next(1, 500) * 1000));
        Set(type, values, "CloseDate", DateOnly.FromDateTime(now).AddDays(rng.Next(-90, 180)));
        Set(type, values, "Type", Pick(type, "Type", rng));
        Set(type, values, "LeadSource", Pick(type, "LeadSource", rng));
        Set(type, values, "IsPrivate", false);
        RecordWriter.Derive(type, values, null);
        return values;
    }

    private static object?[] NewLead(ObjectDef type, Random rng)
    {
        var values = new object?[type.SlotCount];
        var first = FirstNames[rng.Next(FirstNames.Length)];
        var last = LastNames[rng.Next(LastNames.Length)];
        var company = $"{CompanyWords[rng.Next(CompanyWords.Length)]} {CompanySuffixes[rng.Next(CompanySuffixes.Length)]}";
        Set(type, values, "FirstName", first);
        Set(type, values, "LastName", last);
        Set(type, values, "Company", company);
        Set(type, values, "Email", $"{first}.{last}{rng.Next(1000)}@{Domain(company)}".ToLowerInvariant().Replace("'", "", StringComparison.Ordinal));
        Set(type, values, "Status", StandardObjects.LeadStatuses[rng.Next(2)]);
        Set(type, values, "LeadSource", Pick(type, "LeadSource", rng));
        Set(type, values, "Industry", Pick(type, "Industry", rng));
        foreach (var flag in new[] { "IsConverted", "IsUnreadByOwner", "HasOptedOutOfEmail", "DoNotCall" })
        {
            Set(type, values, flag, false);
        }
        RecordWriter.Derive(type, values, null);
        return values;
    }

    private static object?[] NewCustom(ObjectDef type, Random rng, int n)
    {
        var values = new object?[type.SlotCount];
        foreach (var field in type.Fields.Where(f => f.Createable && f.Ordinal >= 0))
        {
            object? value = field.Type switch
            {
                FieldType.Boolean => rng.Next(2) == 0,
                FieldType.Picklist when field.PicklistValues.Count > 0 => field.PicklistValues[rng.Next(field.PicklistValues.Count)],
                FieldType.Int => rng.Next(0, 1000),
                FieldType.Double or FieldType.Currency or FieldType.Percent => (double)rng.Next(0, 100_000),
                FieldType.Date => DateOnly.FromDayNumber(738_000 + rng.Next(1000)),
                FieldType.Email => $"user{n}@example.com",
                FieldType.String or FieldType.TextArea when field.NameField => $"{type.Label} {n + 1}",
                FieldType.String or FieldType.TextArea => Truncate($"{CompanyWords[rng.Next(CompanyWords.Length)]} {n}", field.Length),
                _ => null,
            };
            if (field.Kind == ValueKind.Boolean || value is not null)
            {
                values[field.Ordinal] = value ?? false;
            }
        }
        return values;
    }

    private static string Truncate(string s, int length) => s.Length > length ? s[..length] : s;

    private static string Domain(string company)
    {
        var word = company.Split(' ')[0].ToLowerInvariant();
        return word + ".example.com";
    }

    private static string Phone(Random rng) =>
        $"({rng.Next(200, 999)}) 555-{rng.Next(0, 10000):0000}";

    private static string? Pick(ObjectDef type, string field, Random rng)
    {
        var values = type.FindField(field)!.PicklistValues;
        return values[rng.Next(values.Count)];
    }

    private static readonly object True = true;
    private static readonly object False = false;

    private static void Set(ObjectDef type, object?[] values, string field, object? value) =>
        values[type.FindField(field)!.Ordinal] = value switch
        {
            // Shared boxes: a million records should not carry a million boxed booleans.
            bool b => b ? True : False,
            _ => value,
        };

    private static Record Stamp(Org org, ObjectDef type, object?[] values, DateTime time, string? userId)
    {
        var id = org.NextId(type);
        values[type.Id.Ordinal] = id;
        object boxed = time;
        values[type.CreatedDate.Ordinal] = boxed;
        values[type.LastModifiedDate.Ordinal] = boxed;
        values[type.SystemModstamp.Ordinal] = boxed;
        var user = userId ?? id;
        values[type.CreatedById.Ordinal] = user;
        values[type.LastModifiedById.Ordinal] = user;
        if (type.IsDeleted is { } deleted)
        {
            values[deleted.Ordinal] = False;
        }
        var record = new Record(type, values, isDeleted: false, deletedDate: null);
        org.Table(type).Append(record);
        org.AdvanceStampFloor(time);
        return record;
    }
}
