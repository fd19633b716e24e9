using Microsoft.Extensions.Logging;

namespace FineR1.Tests;

/// <summary>An <see cref="ILogger"/> that keeps what it is given, for tests of what the libraries log.</summary>
internal sealed class ListLogger : ILogger
{
    public sealed record Entry(LogLevel Level, EventId EventId, string Message, IReadOnlyList<KeyValuePair<string, object?>> State);

    private readonly List<Entry> _entries = [];

    public IReadOnlyList<Entry> Entries { get { lock (_entries) return _entries.ToList(); } }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var values = state as IReadOnlyList<KeyValuePair<string, object?>> ?? [];
        lock (_entries) _entries.Add(new Entry(logLevel, eventId, formatter(state, exception), values));
    }
}
