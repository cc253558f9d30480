using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using X402Orleans.Abstractions;
using X402Orleans.Silo;

namespace X402Orleans.Cluster.Tests;

/// <summary>A failing state store reaches callers as a serializable <see cref="StorageUnavailableException"/>, never as the driver's exception.</summary>
public sealed class StorageFailureTests
{
    [Fact]
    public async Task BrokenStore_SurfacesAsStorageUnavailable_ThatSerializes()
    {
        var folder = TestEnvironment.TempFolder("x402-broken");
        var dbPath = Path.Combine(folder, "x402.db");
        try
        {
            var ports = TestEnvironment.FreePorts(3);
            var settings = new Dictionary<string, string?>
            {
                ["Logging:LogLevel:Default"] = "Critical",
                ["X402:Storage:Path"] = dbPath,
                ["X402:Cluster:SiloPort"] = ports[1].ToString(CultureInfo.InvariantCulture),
                ["X402:Cluster:GatewayPort"] = ports[2].ToString(CultureInfo.InvariantCulture),
                ["X402:Wallet:PrivateKey"] = TestEnvironment.WalletKey,
            };
            var app = X402Host.CreateWebApp(["--urls", $"http://127.0.0.1:{ports[0].ToString(CultureInfo.InvariantCulture)}"], b => b.Configuration.AddInMemoryCollection(settings));
            await using (app)
            {
                await app.StartAsync();
                await using (var connection = new SqliteConnection(Silo.Storage.SchemaScripts.SqliteConnectionString(dbPath)))
                {
                    await connection.OpenAsync();
                    await using var drop = connection.CreateCommand();
                    drop.CommandText = "DROP TABLE x402_grain_state";
                    await drop.ExecuteNonQueryAsync();
                }

                var session = app.Services.GetRequiredService<IGrainFactory>().GetGrain<ISessionGrain>(Guid.NewGuid());
                var error = await Assert.ThrowsAsync<StorageUnavailableException>(() =>
                    session.Open(new OpenSessionCommand("agent", "https://api.example/x", "exact", null, TimeSpan.FromHours(1), "0.1", true)));
                Assert.Null(error.InnerException);
                Assert.Equal("1", error.Code); // SQLITE_ERROR: no such table
                Assert.Contains("SQLite", error.Message, StringComparison.Ordinal);
                Assert.DoesNotContain(dbPath, error.Message, StringComparison.Ordinal);

                var serializer = app.Services.GetRequiredService<Serializer>();
                var copy = Assert.IsType<StorageUnavailableException>(serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(error)));
                Assert.Equal(error.Message, copy.Message);
                Assert.Equal(error.Code, copy.Code);
                Assert.Equal(error.Transient, copy.Transient);
                await app.StopAsync();
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(folder, recursive: true);
        }
    }
}
