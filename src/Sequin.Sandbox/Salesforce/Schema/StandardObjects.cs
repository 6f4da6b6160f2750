namespace Sequin.Sandbox.Salesforce.Schema;

/// <summary>
/// Account, Contact, Opportunity, Lead and User with the standard fields, lengths and picklist values
/// of a fresh Enterprise Edition org (Salesforce "Object Reference" pages). Field order follows the
/// describe order Salesforce returns.
/// </summary>
internal static class StandardObjects
{
    private static readonly string[] Salutations = ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx."];
    private static readonly string[] LeadSources = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"];
    private static readonly string[] Industries =
    [
        "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications", "Construction",
        "Consulting", "Education", "Electronics", "Energy", "Engineering", "Entertainment", "Environmental",
        "Finance", "Food & Beverage", "Government", "Healthcare", "Hospitality", "Insurance", "Machinery",
        "Manufacturing", "Media", "Not For Profit", "Recreation", "Retail", "Shipping", "Technology",
        "Telecommunications", "Transportation", "Utilities", "Other",
    ];
    private static readonly string[] Ratings = ["Hot", "Warm", "Cold"];

    /// <summary>Opportunity stages of a new org, in sales-process order.</summary>
    public static readonly string[] Stages =
    [
        "Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
        "Perception Analysis", "Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost",
    ];

    public static readonly string[] LeadStatuses = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"];

    public static ObjectDef Account(Action<ObjectBuilder>? extend = null) => new ObjectBuilder("Account", "Account", "Accounts", "001")
        .Reference("MasterRecordId", "Master Record ID", "Account", "MasterRecord", createable: false, updateable: false)
        .Text("Name", "Account Name", 255, required: true, nameField: true)
        .Picklist("Type", "Account Type", ["Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller", "Installation Partner", "Technology Partner", "Other"])
        .Reference("ParentId", "Parent Account ID", "Account", "Parent")
        .Address("Billing", "Billing")
        .Address("Shipping", "Shipping")
        .Text("Phone", "Account Phone", 40, type: FieldType.Phone)
        .Text("Fax", "Account Fax", 40, type: FieldType.Phone)
        .Text("AccountNumber", "Account Number", 40)
        .Text("Website", "Website", 255, type: FieldType.Url)
        .Text("Sic", "SIC Code", 20)
        .Picklist("Industry", "Industry", Industries)
        .Number("AnnualRevenue", "Annual Revenue", FieldType.Currency, 18, 0)
        .Number("NumberOfEmployees", "Employees", FieldType.Int, 8, 0)
        .Picklist("Ownership", "Ownership", ["Public", "Private", "Subsidiary", "Other"])
        .Text("TickerSymbol", "Ticker Symbol", 20)
        .Text("Description", "Account Description", 32000, type: FieldType.TextArea)
        .Picklist("Rating", "Account Rating", Ratings)
        .Text("Site", "Account Site", 80)
        .Date("LastActivityDate", "Last Activity", createable: false)
        .Extend(extend)
        .Build();

    public static ObjectDef Contact(Action<ObjectBuilder>? extend = null) => new ObjectBuilder("Contact", "Contact", "Contacts", "003")
        .Reference("MasterRecordId", "Master Record ID", "Contact", "MasterRecord", createable: false, updateable: false)
        .Reference("AccountId", "Account ID", "Account", "Account")
        .Text("LastName", "Last Name", 80, required: true)
        .Text("FirstName", "First Name", 40)
        .Picklist("Salutation", "Salutation", Salutations)
        .ComputedName("Full Name", 121)
        .Address("Other", "Other")
        .Address("Mailing", "Mailing")
        .Text("Phone", "Business Phone", 40, type: FieldType.Phone)
        .Text("Fax", "Business Fax", 40, type: FieldType.Phone)
        .Text("MobilePhone", "Mobile Phone", 40, type: FieldType.Phone)
        .Text("HomePhone", "Home Phone", 40, type: FieldType.Phone)
        .Text("OtherPhone", "Other Phone", 40, type: FieldType.Phone)
        .Text("AssistantPhone", "Asst. Phone", 40, type: FieldType.Phone)
        .Reference("ReportsToId", "Reports To ID", "Contact", "ReportsTo")
        .Text("Email", "Email", 80, type: FieldType.Email)
        .Text("Title", "Title", 128)
        .Text("Department", "Department", 80)
        .Text("AssistantName", "Assistant's Name", 40)
        .Picklist("LeadSource", "Lead Source", LeadSources)
        .Date("Birthdate", "Birthdate")
        .Text("Description", "Contact Description", 32000, type: FieldType.TextArea)
        .Boolean("HasOptedOutOfEmail", "Email Opt Out")
        .Boolean("DoNotCall", "Do Not Call")
        .Date("LastActivityDate", "Last Activity", createable: false)
        .Text("EmailBouncedReason", "Email Bounced Reason", 255)
        .Date("EmailBouncedDate", "Email Bounced Date", type: FieldType.DateTime)
        .Extend(extend)
        .Build();

    public static ObjectDef Opportunity(Action<ObjectBuilder>? extend = null) => new ObjectBuilder("Opportunity", "Opportunity", "Opportunities", "006")
        .Reference("AccountId", "Account ID", "Account", "Account")
        .Boolean("IsPrivate", "Private")
        .Text("Name", "Name", 120, required: true, nameField: true)
        .Text("Description", "Description", 32000, type: FieldType.TextArea)
        .Picklist("StageName", "Stage", Stages, required: true)
        .Number("Amount", "Amount", FieldType.Currency, 18, 2)
        .Number("Probability", "Probability (%)", FieldType.Percent, 3, 0)
        .Number("ExpectedRevenue", "Expected Amount", FieldType.Currency, 18, 2, createable: false)
        .Number("TotalOpportunityQuantity", "Quantity", FieldType.Double, 18, 2)
        .Date("CloseDate", "Close Date", required: true)
        .Picklist("Type", "Opportunity Type", ["Existing Customer - Upgrade", "Existing Customer - Replacement", "Existing Customer - Downgrade", "New Customer"])
        .Text("NextStep", "Next Step", 255)
        .Picklist("LeadSource", "Lead Source", LeadSources)
        .Boolean("IsClosed", "Closed", createable: false)
        .Boolean("IsWon", "Won", createable: false)
        .Picklist("ForecastCategory", "Forecast Category", ["Omitted", "Pipeline", "BestCase", "MostLikely", "Forecast", "Closed"])
        .Picklist("ForecastCategoryName", "Forecast Category", ["Omitted", "Pipeline", "Best Case", "Commit", "Closed"])
        .Date("LastActivityDate", "Last Activity", createable: false)
        .Extend(extend)
        .Build();

    public static ObjectDef Lead(Action<ObjectBuilder>? extend = null) => new ObjectBuilder("Lead", "Lead", "Leads", "00Q")
        .Reference("MasterRecordId", "Master Record ID", "Lead", "MasterRecord", createable: false, updateable: false)
        .Text("LastName", "Last Name", 80, required: true)
        .Text("FirstName", "First Name", 40)
        .Picklist("Salutation", "Salutation", Salutations)
        .ComputedName("Full Name", 121)
        .Text("Title", "Title", 128)
        .Text("Company", "Company", 255, required: true)
        .Address("", "")
        .Text("Phone", "Phone", 40, type: FieldType.Phone)
        .Text("MobilePhone", "Mobile Phone", 40, type: FieldType.Phone)
        .Text("Fax", "Fax", 40, type: FieldType.Phone)
        .Text("Email", "Email", 80, type: FieldType.Email)
        .Text("Website", "Website", 255, type: FieldType.Url)
        .Text("Description", "Description", 32000, type: FieldType.TextArea)
        .Picklist("LeadSource", "Lead Source", LeadSources)
        .Picklist("Status", "Status", LeadStatuses, required: true, defaultValue: "Open - Not Contacted")
        .Picklist("Industry", "Industry", Industries)
        .Picklist("Rating", "Rating", Ratings)
        .Number("AnnualRevenue", "Annual Revenue", FieldType.Currency, 18, 0)
        .Number("NumberOfEmployees", "Employees", FieldType.Int, 8, 0)
        .Boolean("IsConverted", "Converted", createable: false)
        .Date("ConvertedDate", "Converted Date", createable: false)
        .Reference("ConvertedAccountId", "Converted Account ID", "Account", "ConvertedAccount", createable: false, updateable: false)
        .Reference("ConvertedContactId", "Converted Contact ID", "Contact", "ConvertedContact", createable: false, updateable: false)
        .Reference("ConvertedOpportunityId", "Converted Opportunity ID", "Opportunity", "ConvertedOpportunity", createable: false, updateable: false)
        .Boolean("IsUnreadByOwner", "Unread By Owner")
        .Boolean("HasOptedOutOfEmail", "Email Opt Out")
        .Boolean("DoNotCall", "Do Not Call")
        .Date("LastActivityDate", "Last Activity", createable: false)
        .Extend(extend)
        .Build();

    /// <summary>User: no IsDeleted, no OwnerId, cannot be deleted (users are deactivated instead).</summary>
    public static ObjectDef User(Action<ObjectBuilder>? extend = null) => new ObjectBuilder("User", "User", "Users", "005", hasIsDeleted: false)
        .NotDeletable()
        .Text("Username", "Username", 80, required: true, unique: true)
        .Text("LastName", "Last Name", 80, required: true)
        .Text("FirstName", "First Name", 40)
        .ComputedName("Full Name", 121)
        .Text("CompanyName", "Company Name", 80)
        .Text("Division", "Division", 80)
        .Text("Department", "Department", 80)
        .Text("Title", "Title", 80)
        .Address("", "")
        .Text("Email", "Email", 128, required: true, type: FieldType.Email)
        .Text("Phone", "Phone", 40, type: FieldType.Phone)
        .Text("MobilePhone", "Mobile", 40, type: FieldType.Phone)
        .Text("Alias", "Alias", 8, required: true)
        .Text("CommunityNickname", "Nickname", 40, required: true, unique: true)
        .Boolean("IsActive", "Active")
        .Picklist("TimeZoneSidKey", "Time Zone", ["America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Paris", "Asia/Tokyo", "GMT"], required: true)
        .Picklist("LocaleSidKey", "Locale", ["en_US", "en_GB", "fr_FR", "de_DE", "ja_JP"], required: true)
        .Picklist("EmailEncodingKey", "Email Encoding", ["UTF-8", "ISO-8859-1"], required: true)
        .Picklist("LanguageLocaleKey", "Language", ["en_US", "fr", "de", "ja"], required: true)
        .Reference("ProfileId", "Profile ID", "Profile", "Profile")
        .Reference("ManagerId", "Manager ID", "User", "Manager")
        .Date("LastLoginDate", "Last Login", createable: false, type: FieldType.DateTime)
        .Extend(extend)
        .Build(hasOwner: false);
}
