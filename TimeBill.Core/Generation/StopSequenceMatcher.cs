using System.Text;

namespace TimeBill.Core.Generation;

/// <summary>
/// Finds stop sequences in streamed text across token boundaries. Text that could still be the start of a stop
/// sequence is held back until it is known not to be; text from a stop sequence on is never released.
/// </summary>
internal sealed class StopSequenceMatcher
{
    private readonly string[] _stops;
    private readonly StringBuilder _pending = new();

    public StopSequenceMatcher(IReadOnlyCollection<string> stops) => _stops = [.. stops.Where(s => s.Length > 0)];

    /// <summary>Whether a stop sequence has been seen.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds <paramref name="text"/>; returns the text that is now safe to release.</summary>
    public string Push(string text)
    {
        if (Stopped) return "";
        if (_stops.Length == 0) return text;
        _pending.Append(text);
        string pending = _pending.ToString();
        int cut = -1;
        foreach (string stop in _stops)
        {
            int at = pending.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        if (cut >= 0)
        {
            Stopped = true;
            _pending.Clear();
            return pending[..cut];
        }
        int hold = 0; // the longest end of the text that begins a stop sequence
        foreach (string stop in _stops)
            for (int n = Math.Min(stop.Length - 1, pending.Length); n > hold; n--)
                if (string.CompareOrdinal(pending, pending.Length - n, stop, 0, n) == 0) { hold = n; break; }
        _pending.Clear().Append(pending, pending.Length - hold, hold);
        return pending[..^hold];
    }

    /// <summary>At the end of the stream: the text held back (none after a stop sequence).</summary>
    public string Flush()
    {
        string rest = Stopped ? "" : _pending.ToString();
        _pending.Clear();
        return rest;
    }
}
