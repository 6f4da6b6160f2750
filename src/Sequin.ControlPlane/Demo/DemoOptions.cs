namespace Sequin.ControlPlane.Demo;

/// <summary>
/// Section <c>Sequin:Demo</c>: the first-run demo that <c>deploy/run.sh</c> turns on — a demo user and organization,
/// a seeded sandbox Salesforce org with live activity, and a running sync into the schema <c>salesforce</c>.
/// </summary>
public sealed class DemoOptions
{
    public const string Section = "Sequin:Demo";

    /// <summary>Create (first start) or refresh (later starts) the demo. Default false; <c>deploy/run.sh</c> sets it.</summary>
    public bool Enabled { get; set; }

    /// <summary>Sign-in email of the demo user. Default <c>demo@sequin.local</c>.</summary>
    public string Email { get; set; } = "demo@sequin.local";

    /// <summary>Where the generated demo password is kept (mode 0600). Default <c>.sequin/demo-password</c>.</summary>
    public string PasswordFile { get; set; } = ".sequin/demo-password";

    /// <summary>Accounts in the seeded sandbox org (each with 5 contacts and 2 opportunities). Default 200.</summary>
    public int Accounts { get; set; } = 200;

    /// <summary>Live changes per second made in the sandbox org (creates, updates, deletes). Default 2; 0 turns it off.</summary>
    public double ChangesPerSecond { get; set; } = 2;
}
