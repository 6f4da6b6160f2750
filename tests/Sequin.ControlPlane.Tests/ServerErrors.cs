using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Sequin.ControlPlane.Tests;

/// <summary>Collects the host's error logs so a failing assertion can show what happened on the server side.</summary>
public sealed class ServerErrors : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _errors = new();

    public override string ToString() => string.Join("\n---\n", _errors.TakeLast(5));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(ServerErrors owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                owner._errors.Enqueue($"{category}: {formatter(state, exception)}\n{exception}");
            }
        }
    }
}
