using System.Text;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Sequin.ControlPlane.Audit;
using Sequin.Platform.Data;

namespace Sequin.ControlPlane.Auth;

/// <summary>
/// Creates a user, their organization and the owner membership in one transaction, then signs the user in
/// (session cookie). Returns field errors when the password policy or the email uniqueness is violated.
/// </summary>
internal sealed class SignUpCommand(
    PlatformDbContext db,
    UserManager<User> users,
    SignInManager<User> signIn,
    AuditLog audit,
    TimeProvider time)
{
    public async Task<SignUpResult> ExecuteAsync(SignUpRequest request, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

        var user = new User { Id = Guid.CreateVersion7(), UserName = request.Email.Trim(), Email = request.Email.Trim(), DisplayName = request.Name?.Trim(), CreatedAt = now };
        var created = await users.CreateAsync(user, request.Password);
        if (!created.Succeeded)
        {
            return SignUpResult.Failed(created.Errors
                .GroupBy(e => e.Code.StartsWith("Password", StringComparison.Ordinal) ? "password"
                    : e.Code.Contains("Email", StringComparison.Ordinal) || e.Code.Contains("UserName", StringComparison.Ordinal) ? "email" : "body")
                .ToDictionary(g => g.Key, g => g.Select(e => e.Description).ToArray()),
                duplicate: created.Errors.Any(e => e.Code is "DuplicateUserName" or "DuplicateEmail"));
        }

        var organization = new Organization
        {
            Id = Guid.CreateVersion7(),
            Name = request.OrganizationName.Trim(),
            Slug = await UniqueSlugAsync(request.OrganizationName, cancellationToken),
            CreatedAt = now,
        };
        db.Organizations.Add(organization);
        db.Memberships.Add(new Membership { OrgId = organization.Id, UserId = user.Id, Role = OrganizationRoles.Owner, CreatedAt = now });
        db.AuditEvents.Add(audit.Build(organization.Id, user.Id, "organization.created", "organization", organization.Id.ToString(), new { organization.Name }));
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        await signIn.SignInAsync(user, isPersistent: true);
        return SignUpResult.Ok(user, organization);
    }

    /// <summary><c>Acme Corp.</c> → <c>acme-corp</c>, with <c>-2</c>, <c>-3</c>… when taken.</summary>
    private async Task<string> UniqueSlugAsync(string name, CancellationToken cancellationToken)
    {
        var sb = new StringBuilder();
        foreach (var c in name.Trim().ToLowerInvariant())
        {
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9')
            {
                sb.Append(c);
            }
            else if (sb.Length > 0 && sb[^1] != '-')
            {
                sb.Append('-');
            }
        }

        var baseSlug = sb.ToString().Trim('-');
        if (baseSlug.Length == 0)
        {
            baseSlug = "org";
        }

        baseSlug = baseSlug.Length > 50 ? baseSlug[..50].TrimEnd('-') : baseSlug;
        var taken = await db.Organizations.Where(o => o.Slug == baseSlug || o.Slug.StartsWith(baseSlug + "-"))
            .Select(o => o.Slug).ToListAsync(cancellationToken);
        var slug = baseSlug;
        for (var n = 2; taken.Contains(slug); n++)
        {
            slug = $"{baseSlug}-{n}";
        }

        return slug;
    }
}

internal sealed record SignUpResult(User? User, Organization? Organization, Dictionary<string, string[]>? Errors, bool Duplicate)
{
    public static SignUpResult Ok(User user, Organization organization) => new(user, organization, null, false);

    public static SignUpResult Failed(Dictionary<string, string[]> errors, bool duplicate) => new(null, null, errors, duplicate);
}
