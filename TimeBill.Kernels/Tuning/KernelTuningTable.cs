using System.Text.Json;
using System.Text.Json.Serialization;

namespace TimeBill.Kernels.Tuning;

/// <summary>Where a tuning table's choices come from.</summary>
public enum TuningTableStatus
{
    /// <summary>Read from a file made on this machine.</summary>
    Loaded,
    /// <summary>Built in this process (not read from a file).</summary>
    Fresh,
    /// <summary>No file: defaults.</summary>
    Missing,
    /// <summary>The file could not be read or parsed: defaults.</summary>
    Unreadable,
    /// <summary>The file was made on another machine or runtime: defaults.</summary>
    Stale,
}

/// <summary>
/// The per-machine record of the kernel search: the winning variant per kernel and shape class, and the history
/// of every candidate. The runtime asks <see cref="Choose"/>; it gets the kernel's safe default whenever the file
/// is absent, unreadable, made on another machine, or has no entry that runs here.
/// </summary>
public sealed class KernelTuningTable
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    private readonly Dictionary<(string Kernel, string ShapeClass), TuningEntry> _entries = [];
    private readonly List<CandidateRecord> _history = [];

    private KernelTuningTable(MachineFingerprint machine, TuningTableStatus status, string? detail)
    {
        Machine = machine;
        Status = status;
        StatusDetail = detail;
    }

    /// <summary>An empty table for this machine, to record search results into.</summary>
    public KernelTuningTable() : this(MachineFingerprint.Current, TuningTableStatus.Fresh, null) { }

    /// <summary>The default file: <c>~/.timebill/kernel-tuning.json</c>.</summary>
    public static string DefaultPath =>
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".timebill", "kernel-tuning.json");

    /// <summary>The machine the choices were made on.</summary>
    public MachineFingerprint Machine { get; }

    /// <summary>Whether the choices came from a file, and if not, why.</summary>
    public TuningTableStatus Status { get; }

    /// <summary>The reason behind a non-<see cref="TuningTableStatus.Loaded"/> status, for logs.</summary>
    public string? StatusDetail { get; }

    /// <summary>Winning variants.</summary>
    public IReadOnlyCollection<TuningEntry> Entries => _entries.Values;

    /// <summary>Every candidate tried by the searches recorded here.</summary>
    public IReadOnlyList<CandidateRecord> History => _history;

    /// <summary>
    /// The variant to run for <paramref name="kernel"/> (a <see cref="KernelNames"/> constant) on shapes of
    /// <paramref name="shapeClass"/> (see <see cref="ShapeClasses"/>); the kernel's default when the table has no
    /// runnable entry. Choose once when a model is set up and keep the variant; this is a lookup, not a hot path.
    /// </summary>
    /// <exception cref="ArgumentException">The kernel is unknown.</exception>
    public KernelVariant Choose(string kernel, string shapeClass)
    {
        var fallback = KernelNames.DefaultVariant(kernel);
        return _entries.TryGetValue((kernel, shapeClass), out var entry) && Runs(entry.Variant) ? entry.Variant : fallback;
    }

    /// <summary>Records a search: its winner (if any) becomes the entry for its kernel and shape class, its trials join the history.</summary>
    public void Record(TuningEntry? winner, IEnumerable<CandidateRecord> history)
    {
        ArgumentNullException.ThrowIfNull(history);
        _history.AddRange(history);
        if (winner is not null) _entries[(winner.Kernel, winner.ShapeClass)] = winner;
    }

    /// <summary>Writes the table as JSON to <paramref name="path"/>, creating its folder.</summary>
    public void Save(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var document = new Document(Machine, DateTimeOffset.UtcNow, [.. _entries.Values], _history);
        File.WriteAllText(path, JsonSerializer.Serialize(document, Json));
    }

    /// <summary>Reads <paramref name="path"/> (default <see cref="DefaultPath"/>). Never throws: any problem yields an empty table whose <see cref="Status"/> says why.</summary>
    public static KernelTuningTable Load(string? path = null)
    {
        path ??= DefaultPath;
        var current = MachineFingerprint.Current;
        if (!File.Exists(path)) return new(current, TuningTableStatus.Missing, $"{path} does not exist.");
        Document? document;
        try
        {
            document = JsonSerializer.Deserialize<Document>(File.ReadAllText(path), Json);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            return new(current, TuningTableStatus.Unreadable, $"{path}: {e.Message}");
        }
        if (document?.Machine is null || document.Entries is null)
            return new(current, TuningTableStatus.Unreadable, $"{path} is not a tuning table.");
        if (document.Machine != current)
            return new(current, TuningTableStatus.Stale, $"{path} was made on {document.Machine.CpuModel} ({document.Machine.Runtime}).");
        var table = new KernelTuningTable(current, TuningTableStatus.Loaded, null);
        foreach (var entry in document.Entries.Where(e => e?.Kernel is not null && e.ShapeClass is not null))
            table._entries[(entry.Kernel, entry.ShapeClass)] = entry;
        table._history.AddRange(document.History ?? []);
        return table;
    }

    private static bool Runs(KernelVariant variant) =>
        variant.Algorithm is not null && (variant.Algorithm != KernelVariant.Lanes || KernelVariant.IsWidthAccelerated(variant.VectorWidth));

    private sealed record Document(MachineFingerprint Machine, DateTimeOffset CreatedUtc, List<TuningEntry> Entries, List<CandidateRecord>? History);
}
