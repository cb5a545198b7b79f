using System.Text;
using TimeBill.Core.Checkpoints;
using TimeBill.Core.Checkpoints.Gguf;
using TimeBill.Core.Model;
using TimeBill.Core.Tokenization;
using TimeBill.Templates;

namespace TimeBill.Fuzz;

/// <summary>
/// One fuzz target per file parser: each takes the raw bytes of one file, loads them the way the library loads that file
/// (through a scratch folder where the loader wants a path), and uses what it loaded. A target returns (a valid file) or
/// throws; only <see cref="IsDocumented"/> exceptions are allowed. The test suite replays the checked-in corpus through
/// this same file (TimeBill.Tests links it).
/// </summary>
public static class FuzzTargets
{
    /// <summary>The parsers, as fuzz.sh and the corpus folders name them.</summary>
    public static IReadOnlyList<string> Names { get; } = ["safetensors", "config", "tokenizer-model", "tokenizer-json", "gguf", "template"];

    private static readonly string Scratch = CreateScratch();

    /// <summary>Runs <paramref name="parser"/>'s target on <paramref name="data"/>.</summary>
    public static void Run(string parser, ReadOnlySpan<byte> data)
    {
        switch (parser)
        {
            case "safetensors":
                var tensors = SafeTensorsFile.Open(Write(parser, data));
                foreach (var entry in tensors.Entries.Values.Where(e => e.Length <= 1 << 16)) _ = SafeTensorsFile.ReadFloat32(entry);
                break;
            case "config":
                _ = ModelConfig.Load(Write(parser, data)).ShapeHash;
                break;
            case "tokenizer-model":
                Use(TextTokenizer.Load(Write(parser, data)));
                break;
            case "tokenizer-json":
                Use(TextTokenizer.Load(Write(parser, data)));
                break;
            case "gguf":
                using (var file = GgufFile.Open(Write(parser, data)))
                {
                    var config = GgufModel.ReadConfig(file);
                    _ = GgufModel.Tensors(file, config).Count;
                    if (file.String("tokenizer.ggml.model") is not null) Use(GgufTokenizer.Load(file));
                }
                break;
            case "template":
                _ = JinjaTemplate.Parse(Encoding.UTF8.GetString(data), JinjaOptions.ChatTemplate);
                break;
            default:
                throw new ArgumentException($"unknown parser '{parser}'; known: {string.Join(", ", Names)}.", nameof(parser));
        }
    }

    /// <summary>Whether <paramref name="e"/> is what <paramref name="parser"/> documents for a bad file.</summary>
    public static bool IsDocumented(string parser, Exception e) =>
        parser == "template" ? e is TemplateSyntaxException : e is ModelLoadException;

    private static void Use(TextTokenizer tokenizer)
    {
        int[] ids = tokenizer.EncodePrompt("Once upon a time, a little robot moved the red block. <s> 日本 🙂");
        _ = tokenizer.Decode(ids);
    }

    private static string CreateScratch()
    {
        string folder = Directory.CreateTempSubdirectory("timebill-fuzz-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(folder, recursive: true); } catch (IOException) { } };
        return folder;
    }

    /// <summary>The file name <paramref name="parser"/>'s input is loaded as (null for templates, parsed from text).</summary>
    public static string? FileName(string parser) => parser switch
    {
        "safetensors" => "model.safetensors",
        "config" => "config.json",
        "tokenizer-model" => "tokenizer.model",
        "tokenizer-json" => "tokenizer.json",
        "gguf" => "model.gguf",
        _ => null,
    };

    private static string Write(string parser, ReadOnlySpan<byte> data)
    {
        string name = FileName(parser)!;
        string folder = Path.Combine(Scratch, parser);
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, name);
        File.WriteAllBytes(path, data);
        return path;
    }
}
