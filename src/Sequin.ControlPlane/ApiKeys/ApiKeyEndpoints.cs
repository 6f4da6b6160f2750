using FluentValidation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Sequin.ControlPlane.Audit;
using Sequin.ControlPlane.Auth;
using Sequin.ControlPlane.Infrastructure;
using Sequin.ControlPlane.Tenancy;
using Sequin.Platform.Data;

namespace Sequin.ControlPlane.ApiKeys;

/// <summary>Body of <c>POST /api/v1/orgs/{orgId}/api-keys</c>.</summary>
/// <param name="Name">What the key is for (1–200 characters), e.g. <c>ci</c>.</param>
public sealed record CreateApiKeyRequest(string Name);

/// <summary>An API key without its secret.</summary>
public sealed record ApiKeyResponse(Guid Id, string Name, string Prefix, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

/// <summary>A newly created key: <see cref="Key"/> is shown this once and never again (only its hash is stored).</summary>
public sealed record CreatedApiKeyResponse(Guid Id, string Name, string Prefix, string Key, DateTimeOffset CreatedAt);

internal sealed class CreateApiKeyRequestValidator : AbstractValidator<CreateApiKeyRequest>
{
    public CreateApiKeyRequestValidator() =>
        RuleFor(r => r.Name).NotEmpty().MaximumLength(200).Must(n => n is null || !n.Any(char.IsControl))
            .WithMessage("'Name' must not contain control characters.");
}

/// <summary>Creates an organization API key (admin only); returns the secret once.</summary>
internal sealed class CreateApiKeyCommand(TenantDbContext db, TenantScope scope, AuditLog audit, TimeProvider time, IHttpContextAccessor http)
{
    public async Task<CreatedApiKeyResponse> ExecuteAsync(CreateApiKeyRequest request, CancellationToken cancellationToken)
    {
        var (key, prefix) = ApiKeySecret.Generate();
        var entity = new ApiKey
        {
            Id = Guid.CreateVersion7(),
            OrgId = scope.OrgId,
            Name = request.Name.Trim(),
            Prefix = prefix,
            SecretHash = ApiKeySecret.Hash(key),
            CreatedBy = CurrentActor.From(http.HttpContext!.User).UserId,
            CreatedAt = time.GetUtcNow(),
        };
        db.ApiKeys.Add(entity);
        audit.Record("api_key.created", "api_key", entity.Id.ToString(), new { entity.Name, entity.Prefix });
        await db.SaveChangesAsync(cancellationToken);
        return new CreatedApiKeyResponse(entity.Id, entity.Name, prefix, key, entity.CreatedAt);
    }
}

/// <summary>Revokes a key: it stops authenticating at once. Idempotent.</summary>
internal sealed class RevokeApiKeyCommand(TenantDbContext db, AuditLog audit, TimeProvider time)
{
    public async Task<bool> ExecuteAsync(Guid keyId, CancellationToken cancellationToken)
    {
        var key = await db.ApiKeys.SingleOrDefaultAsync(k => k.Id == keyId, cancellationToken);
        if (key is null)
        {
            return false;
        }

        if (key.RevokedAt is null)
        {
            key.RevokedAt = time.GetUtcNow();
            audit.Record("api_key.revoked", "api_key", key.Id.ToString(), new { key.Name, key.Prefix });
            await db.SaveChangesAsync(cancellationToken);
        }

        return true;
    }
}

/// <summary><c>/api/v1/orgs/{orgId}/api-keys</c>.</summary>
internal static class ApiKeyEndpoints
{
    public static RouteGroupBuilder MapApiKeyEndpoints(this RouteGroupBuilder org)
    {
        var keys = org.MapGroup("/api-keys").WithTags("API keys").RequireOrgRole(OrganizationRoles.Admin);
        keys.MapGet("/", async (TenantDbContext db, CancellationToken ct) => TypedResults.Ok(await db.ApiKeys.AsNoTracking()
                .OrderByDescending(k => k.CreatedAt)
                .Select(k => new ApiKeyResponse(k.Id, k.Name, k.Prefix, k.CreatedAt, k.LastUsedAt, k.RevokedAt))
                .ToListAsync(ct)))
            .WithSummary("The organization's API keys (never their secrets).");
        keys.MapPost("/", async (CreateApiKeyRequest request, CreateApiKeyCommand command, CancellationToken ct) =>
            {
                var created = await command.ExecuteAsync(request, ct);
                return TypedResults.Created($"api-keys/{created.Id}", created);
            })
            .Validate<CreateApiKeyRequest>()
            .WithSummary("Create a key. The response holds the secret; it is shown once. Send it as 'Authorization: Bearer <key>'.");
        keys.MapDelete("/{keyId:guid}", async Task<Results<NoContent, ProblemHttpResult>> (Guid keyId, RevokeApiKeyCommand command, CancellationToken ct) =>
                await command.ExecuteAsync(keyId, ct) ? TypedResults.NoContent() : Problems.NotFound("API key"))
            .WithSummary("Revoke a key; it stops working immediately.");
        return org;
    }
}
