using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Quartz;
using Sequin.Platform.Migrations;
using Sequin.Testing;
using Shouldly;

namespace Sequin.Platform.Tests;

/// <summary>A real clustered Quartz.NET AdoJobStore runs on the tables of 0002_quartz.sql.</summary>
public sealed class QuartzSchemaTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    internal static readonly ConcurrentDictionary<string, int> Runs = new();

    [Fact]
    public async Task ClusteredScheduler_OnQuartzSchema_RunsAPersistedJob()
    {
        await using (var dataSource = NpgsqlDataSource.Create(database.ConnectionString))
        {
            await new Migrator(dataSource, new EmbeddedMigrationSource(), NullLogger<Migrator>.Instance).MigrateAsync();
        }

        var scheduler = await QuartzSchedulerBuilder.Create(q =>
        {
            q.ConfigureScheduler(o =>
            {
                o.InstanceName = "sequin-test";
                o.GenerateInstanceId = true;
            });
            q.UseDefaultThreadPool(2);
            q.UsePersistentStore(store =>
            {
                store.UsePostgres(database.ConnectionString);
                store.ConfigureStore(o => o.TablePrefix = "quartz.qrtz_");
                store.UseClustering(c => c.CheckinInterval = TimeSpan.FromSeconds(1));
                store.UseSystemTextJsonSerializer(_ => { });
            });
        }).BuildScheduler();
        var key = Guid.NewGuid().ToString("N");
        try
        {
            await scheduler.Start();
            await scheduler.ScheduleJob(
                JobBuilder.Create<CountingJob>().WithIdentity(key).UsingJobData("key", key).Build(),
                TriggerBuilder.Create().StartNow().Build());

            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!Runs.ContainsKey(key) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }

            Runs.GetValueOrDefault(key).ShouldBe(1);
            await using var connection = new NpgsqlConnection(database.ConnectionString);
            await connection.OpenAsync();
            await using var state = new NpgsqlCommand("select count(*) from quartz.qrtz_scheduler_state where sched_name = 'sequin-test'", connection);
            ((long)(await state.ExecuteScalarAsync())!).ShouldBe(1, "a clustered node checks in to qrtz_scheduler_state");
        }
        finally
        {
            await scheduler.Shutdown(waitForJobsToComplete: true);
        }
    }

    public sealed class CountingJob : IJob
    {
        public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
        {
            Runs.AddOrUpdate(context.MergedJobDataMap.GetString("key")!, 1, (_, n) => n + 1);
            return ValueTask.CompletedTask;
        }
    }
}
