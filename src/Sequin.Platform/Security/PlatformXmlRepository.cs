using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Npgsql;
using Sequin.Platform.Database;

namespace Sequin.Platform.Security;

/// <summary>
/// ASP.NET Data Protection key ring stored in the platform table <c>data_protection_keys</c>, so every host
/// sharing the platform database can decrypt what another host encrypted. (The EF Core key-store package is
/// not in our package mirror; this is the whole of what it would do.)
/// </summary>
/// <remarks>The <see cref="IXmlRepository"/> contract is synchronous; calls happen rarely (key ring refresh).</remarks>
internal sealed class PlatformXmlRepository(PlatformDatabase database) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var command = database.DataSource.CreateCommand("select xml from data_protection_keys order by id");
        using var reader = command.ExecuteReader();
        var elements = new List<XElement>();
        while (reader.Read())
        {
            elements.Add(XElement.Parse(reader.GetString(0)));
        }

        return elements;
    }

    public void StoreElement(XElement element, string friendlyName)
    {
        using var command = database.DataSource.CreateCommand(
            "insert into data_protection_keys (friendly_name, xml) values ($1, $2) on conflict (friendly_name) do nothing");
        command.Parameters.Add(new NpgsqlParameter { Value = friendlyName });
        command.Parameters.Add(new NpgsqlParameter { Value = element.ToString(SaveOptions.DisableFormatting) });
        command.ExecuteNonQuery();
    }
}
