using System.Diagnostics;

namespace FineR1.Training.Progress;

/// <summary>Tokens per second of the last interval (e.g. one optimizer step).</summary>
public sealed class ThroughputMeter
{
    private readonly Stopwatch _watch = Stopwatch.StartNew();

    /// <summary>Seconds since the last <see cref="Lap"/> (or construction).</summary>
    public double ElapsedSeconds => _watch.Elapsed.TotalSeconds;

    /// <summary>Returns (seconds, tokens / seconds) since the last lap and restarts the clock.</summary>
    public (double Seconds, double TokensPerSecond) Lap(long tokens)
    {
        double seconds = _watch.Elapsed.TotalSeconds;
        _watch.Restart();
        return (seconds, seconds > 0 ? tokens / seconds : 0);
    }
}
