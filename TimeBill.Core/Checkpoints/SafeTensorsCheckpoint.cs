using System.Text.Json;

namespace TimeBill.Core.Checkpoints;

/// <summary>
/// The weights of a Hugging Face model folder: one <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c>.
/// </summary>
internal sealed class SafeTensorsCheckpoint
{
    private SafeTensorsCheckpoint(IReadOnlyDictionary<string, SafeTensorsEntry> entries) => Entries = entries;

    /// <summary>Every tensor of the checkpoint by name.</summary>
    public IReadOnlyDictionary<string, SafeTensorsEntry> Entries { get; }

    /// <summary>The entries as weights to load.</summary>
    public IReadOnlyDictionary<string, CheckpointTensor> Tensors =>
        Entries.ToDictionary(e => e.Key, e => new CheckpointTensor(e.Key, e.Value.Shape, e.Value.File, () => SafeTensorsFile.ReadFloat32(e.Value))
        {
            ReadFloat32Range = (start, destination) => SafeTensorsFile.ReadFloat32(e.Value, start, destination),
        });

    /// <summary>Opens the weights in <paramref name="folder"/>.</summary>
    /// <exception cref="ModelLoadException">No weights, a broken index or shard, or a tensor listed twice.</exception>
    public static SafeTensorsCheckpoint Open(string folder)
    {
        string single = Path.Combine(folder, "model.safetensors");
        string index = Path.Combine(folder, "model.safetensors.index.json");
        if (File.Exists(single)) return new SafeTensorsCheckpoint(SafeTensorsFile.Open(single).Entries);
        if (!File.Exists(index))
            throw new ModelLoadException(folder, "no model.safetensors or model.safetensors.index.json in the folder.");

        using var document = JsonFile.Read(index);
        if (document.RootElement.Optional("weight_map") is not { ValueKind: JsonValueKind.Object } weightMap)
            throw new ModelLoadException(index, "missing 'weight_map' object.");

        var shards = new Dictionary<string, SafeTensorsFile>();
        var entries = new Dictionary<string, SafeTensorsEntry>();
        foreach (var property in weightMap.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.String)
                throw new ModelLoadException(index, $"weight_map entry '{property.Name}' must name a shard file.");
            string shardName = property.Value.GetString()!;
            if (shardName.Contains('/') || shardName.Contains('\\') || shardName.Contains(".."))
                throw new ModelLoadException(index, $"shard name '{shardName}' must be a plain file name in the model folder.");
            if (!shards.TryGetValue(shardName, out var shard))
                shards[shardName] = shard = SafeTensorsFile.Open(Path.Combine(folder, shardName));
            if (!shard.Entries.TryGetValue(property.Name, out var entry))
                throw new ModelLoadException(shard.Path, $"tensor '{property.Name}' is listed in the index but missing from the shard.");
            entries[property.Name] = entry;
        }
        foreach (var shard in shards.Values)
            foreach (var name in shard.Entries.Keys.Where(n => !entries.ContainsKey(n)))
                throw new ModelLoadException(shard.Path, $"tensor '{name}' is in the shard but not in the index's weight_map.");
        return new SafeTensorsCheckpoint(entries);
    }
}
