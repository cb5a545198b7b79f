using System.Text.Json;
using TimeBill.Core.Model;
using TimeBill.Core.Planning;
using TorchSharp;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>
/// Saves and loads trained predictors: a magic string, the JSON <see cref="LengthPredictorHeader"/> (with the target
/// model's identity), then the network's weights in TorchSharp's format.
/// </summary>
internal static class LengthPredictorFile
{
    private const string Magic = "TimeBill.RLP/1";

    /// <summary>Writes a header and the weights of <paramref name="network"/>.</summary>
    public static void Save(string path, LengthPredictorHeader header, torch.nn.Module network)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(Magic);
        writer.Write(JsonSerializer.Serialize(header, PredictorJson.Options));
        network.save(writer);
    }

    /// <summary>Reads only the header.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not a predictor file.</exception>
    public static LengthPredictorHeader ReadHeader(string path)
    {
        using var reader = OpenReader(path);
        return ReadHeader(reader, path);
    }

    /// <summary>
    /// Loads a predictor for <paramref name="model"/> (a self-probe uses it for prefill; a small transformer only checks
    /// its identity).
    /// </summary>
    /// <exception cref="ModelIdentityMismatchException">The file was trained for another model.</exception>
    /// <exception cref="InvalidDataException">Not a predictor file, or weights that do not fit the header.</exception>
    public static IResponseLengthPredictor Load(string path, CausalLanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var reader = OpenReader(path);
        var header = ReadHeader(reader, path);
        if (!model.IsIdentifiedBy(header.ModelIdentity)) throw new ModelIdentityMismatchException(path, header.ModelIdentity, model.Identity);
        try
        {
            return header.Kind switch
            {
                SmallModelLengthPredictor.KindName => SmallModelLengthPredictor.FromFile(header, reader),
                SelfProbeLengthPredictor.KindName => SelfProbeLengthPredictor.FromFile(header, reader, model),
                _ => throw new InvalidDataException($"{path}: unknown predictor kind '{header.Kind}'."),
            };
        }
        catch (Exception e) when (e is not InvalidDataException and not ModelIdentityMismatchException)
        {
            throw new InvalidDataException($"{path}: the weights do not match the header ({e.Message}).", e);
        }
    }

    private static BinaryReader OpenReader(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"predictor file not found: {path}", path);
        return new BinaryReader(File.OpenRead(path));
    }

    private static LengthPredictorHeader ReadHeader(BinaryReader reader, string path)
    {
        try
        {
            if (reader.ReadString() != Magic) throw new InvalidDataException($"{path} is not a TimeBill response-length predictor file.");
            return JsonSerializer.Deserialize<LengthPredictorHeader>(reader.ReadString(), PredictorJson.Options)
                ?? throw new InvalidDataException($"{path}: empty header.");
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException)
        {
            throw new InvalidDataException($"{path} is not a TimeBill response-length predictor file ({e.Message}).", e);
        }
    }
}
