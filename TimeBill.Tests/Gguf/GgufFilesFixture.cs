using TimeBill.Core.Checkpoints.Gguf;
using TimeBill.Core.Model;
using TimeBill.Tests.Support;

namespace TimeBill.Tests.Gguf;

/// <summary>GGUF files of the shared models written by <see cref="GgufExport"/> in each type, once per test run, in a temporary folder.</summary>
public sealed class GgufFilesFixture : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gguf-models-").FullName;
    private readonly Dictionary<string, string> _files = [];
    private readonly Lock _gate = new();

    /// <summary>../shared/models/<paramref name="model"/> as a GGUF file of <paramref name="type"/>, with its tokenizer when it has one.</summary>
    public string Get(string model, string type)
    {
        lock (_gate)
        {
            string key = $"{model}-{type}";
            if (_files.TryGetValue(key, out string? path)) return path;
            path = Path.Combine(_folder, key + ".gguf");
            string folder = SharedAssets.Model(model);
            using var lm = CausalLanguageModel.Load(folder);
            bool tokenizer = File.Exists(Path.Combine(folder, "tokenizer.model")) || File.Exists(Path.Combine(folder, "tokenizer.json"));
            GgufExport.Write(lm, path, type, tokenizer ? folder : null);
            return _files[key] = path;
        }
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
