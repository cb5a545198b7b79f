using System.Text;
using System.Text.Json;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// The append-only JSONL dataset file: a header line with the <see cref="DistillationSettings"/>, then one
/// <see cref="DistilledStory"/> per line in story order. A run that was stopped is resumed by reading the complete
/// lines, cutting off a partly written last line, and continuing with the next story.
/// </summary>
internal sealed class DistillationDatasetFile : IDisposable
{
    private readonly FileStream _stream;

    private DistillationDatasetFile(FileStream stream, DistillationSettings settings, List<DistilledStory> stories)
    {
        _stream = stream;
        Settings = settings;
        Stories = stories;
    }

    /// <summary>The settings in the header.</summary>
    public DistillationSettings Settings { get; }
    /// <summary>The complete stories found when the file was opened, followed by those appended since.</summary>
    public List<DistilledStory> Stories { get; }

    /// <summary>
    /// Opens <paramref name="path"/> for appending: creates it with <paramref name="settings"/> as header, or, when it
    /// exists, checks its header matches and drops a partial last line.
    /// </summary>
    /// <exception cref="InvalidDataException">The existing file was made with other settings or is not a dataset file.</exception>
    public static DistillationDatasetFile OpenForAppend(string path, DistillationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        if (File.Exists(path) && new FileInfo(path).Length > 0)
        {
            var (existing, stories, completeBytes) = ReadCore(path);
            if (existing != settings)
                throw new InvalidDataException($"{path} was built with other settings ({Describe(existing)}); now asked for ({Describe(settings)}). Use another --out or the same settings.");
            var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
            stream.SetLength(completeBytes);
            stream.Seek(0, SeekOrigin.End);
            return new DistillationDatasetFile(stream, existing, stories);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var created = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read);
        var file = new DistillationDatasetFile(created, settings, []);
        file.WriteLine(JsonSerializer.Serialize(new Header(settings), PredictorJson.Options));
        return file;
    }

    /// <summary>Reads the settings and the complete stories of a dataset file.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a dataset file.</exception>
    public static (DistillationSettings Settings, List<DistilledStory> Stories) Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"dataset file not found: {path}", path);
        var (settings, stories, _) = ReadCore(path);
        return (settings, stories);
    }

    /// <summary>Appends one story and flushes it to disk.</summary>
    public void Append(DistilledStory story)
    {
        WriteLine(JsonSerializer.Serialize(story, PredictorJson.Options));
        Stories.Add(story);
    }

    private void WriteLine(string line)
    {
        _stream.Write(Encoding.UTF8.GetBytes(line + "\n"));
        _stream.Flush(flushToDisk: false);
    }

    private static (DistillationSettings, List<DistilledStory>, long) ReadCore(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var stories = new List<DistilledStory>();
        DistillationSettings? settings = null;
        long complete = 0;
        int start = 0;
        while (start < bytes.Length)
        {
            int end = Array.IndexOf(bytes, (byte)'\n', start);
            if (end < 0) break; // a partly written last line
            var span = bytes.AsSpan(start, end - start);
            try
            {
                if (settings is null)
                    settings = JsonSerializer.Deserialize<Header>(span, PredictorJson.Options)?.Settings
                        ?? throw new InvalidDataException($"{path}: the first line is not a distillation header.");
                else
                    stories.Add(JsonSerializer.Deserialize<DistilledStory>(span, PredictorJson.Options) ?? throw new JsonException("null story"));
            }
            catch (JsonException e)
            {
                if (settings is null) throw new InvalidDataException($"{path}: the first line is not a distillation header ({e.Message}).");
                break; // a torn line: everything from here on is rewritten
            }
            complete = end + 1;
            start = end + 1;
        }
        if (settings is null) throw new InvalidDataException($"{path}: no header line.");
        return (settings, stories, complete);
    }

    private static string Describe(DistillationSettings s) =>
        $"model {s.ModelIdentity}, seed {s.Seed}, T {s.Temperature}, top-p {s.TopP}, max {s.MaxTotalTokens}, {s.PrefixesPerStory} prefixes in {s.MinPrefix}..{s.MaxPrefix}";

    /// <summary>Closes the file.</summary>
    public void Dispose() => _stream.Dispose();

    private sealed record Header(DistillationSettings Settings);
}
