using TimeBill.Core.Checkpoints;

namespace TimeBill.Core.Model;

/// <summary>The defaults from a Hugging Face <c>generation_config.json</c> that decoding needs.</summary>
/// <param name="BosTokenId">Token prepended to prompts, if any.</param>
/// <param name="StopTokenIds">Tokens that end a response (<c>eos_token_id</c>, a number or a list).</param>
public sealed record GenerationConfig(int? BosTokenId, IReadOnlyList<int> StopTokenIds)
{
    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="ModelLoadException">Missing file, invalid JSON or wrongly typed fields.</exception>
    public static GenerationConfig Load(string path)
    {
        using var document = JsonFile.Read(path);
        var root = document.RootElement;
        return new GenerationConfig(root.OptionalInt("bos_token_id", path), root.IntOrList("eos_token_id", path));
    }

    /// <summary>What config.json alone says, for folders without generation_config.json.</summary>
    public static GenerationConfig FromModelConfig(ModelConfig config) => new(config.BosTokenId, config.EosTokenIds);
}
