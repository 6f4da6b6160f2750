using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Sequin.ControlPlane.Auth;
using Sequin.Platform.Data;

namespace Sequin.ControlPlane.Audit;

/// <summary>
/// Adds "who did what, when" rows to the organization's audit log, in the same unit of work as the change
/// (call before <c>SaveChangesAsync</c>). Actions are dotted names: <c>api_key.created</c>, <c>sync.paused</c>.
/// </summary>
internal sealed class AuditLog(TenantDbContext db, TenantScope scope, IHttpContextAccessor http, TimeProvider time)
{
    public void Record(string action, string? targetType = null, string? targetId = null, object? data = null) =>
        db.AuditEvents.Add(Build(scope.OrgId, null, action, targetType, targetId, data));

    /// <summary>An audit row for contexts outside a tenant scope (sign-up creates the organization it logs to).</summary>
    public AuditEvent Build(Guid orgId, Guid? userId, string action, string? targetType = null, string? targetId = null, object? data = null)
    {
        var context = http.HttpContext;
        var actor = context is null ? default : CurrentActor.From(context.User);
        return new AuditEvent
        {
            OrgId = orgId,
            ActorUserId = userId ?? actor.UserId,
            ActorApiKeyId = actor.ApiKeyId,
            Action = action,
            TargetType = targetType,
            TargetId = targetId,
            Data = data is null ? null : JsonSerializer.Serialize(data, JsonSerializerOptions.Web),
            RemoteIp = context?.Connection.RemoteIpAddress?.ToString(),
            At = time.GetUtcNow(),
        };
    }
}
