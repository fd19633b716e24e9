using FineR1.Experiments;

namespace FineR1.Quickstart;

/// <summary>One progress bar per phase, redrawn in place (a new line when the phase changes).</summary>
internal sealed class ConsoleProgress : IProgress<ExperimentProgress>
{
    private string? _phase;
    private DateTime _phaseStart, _lastDraw;
    private readonly bool _interactive = !Console.IsOutputRedirected;

    public void Report(ExperimentProgress p)
    {
        var now = DateTime.UtcNow;
        if (p.Phase != _phase)
        {
            if (_phase is not null) Console.WriteLine();
            _phase = p.Phase;
            _phaseStart = now;
            _lastDraw = DateTime.MinValue;
        }
        bool last = p.Done >= p.Total;
        if (!last && (now - _lastDraw).TotalMilliseconds < (_interactive ? 200 : 5000)) return;
        _lastDraw = now;
        const int width = 30;
        int filled = p.Total == 0 ? width : (int)Math.Round(width * Math.Min(1.0, p.Done / (double)p.Total));
        double elapsed = (now - _phaseStart).TotalSeconds;
        string eta = p.Done > 0 && !last ? $" eta {elapsed / p.Done * (p.Total - p.Done):F0}s" : "";
        string line = $"{p.Phase,-34} [{new string('#', filled)}{new string('.', width - filled)}] {p.Done}/{p.Total} {elapsed:F0}s{eta} {p.Detail}";
        if (_interactive) Console.Write("\r" + line.PadRight(Math.Min(Console.BufferWidth > 0 ? Console.BufferWidth - 1 : 120, 140)));
        else Console.WriteLine(line);
    }

    public void Done() { if (_phase is not null && _interactive) Console.WriteLine(); _phase = null; }
}
