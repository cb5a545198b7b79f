using System.Text.Json;
using System.Text.Json.Serialization;
using TimeBill.Core.Exit;
using TimeBill.Core.Model;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace TimeBill.Predictors.Exit;

/// <summary>
/// Trained exit heads, exit-layer predictor and calibration for one model. The exit head after layer ℓ is
/// <c>model.Head(h + U·D·h)</c>: the model's own final norm and lm_head (frozen) behind a small low-rank residual
/// adapter (<c>D: rank×hidden</c>, <c>U: hidden×rank</c>) learned by distillation. Saved as one JSON file that
/// names the model identity; loading it for another model is an error. Holds (does not own) the model.
/// </summary>
internal sealed class ExitModel : IExitModel, IDisposable
{
    /// <summary>The file format tag.</summary>
    public const string Format = "timebill-exit-heads/1";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = false,
    };

    private readonly CausalLanguageModel _model;
    private readonly Dictionary<int, (Tensor Down, Tensor Up)> _adapters;

    internal ExitModel(CausalLanguageModel model, int rank, IReadOnlyDictionary<int, (float[] Down, float[] Up)> adapters,
        int predictorLayer, ExitPredictor predictor, ExitCalibration calibration)
    {
        _model = model;
        Rank = rank;
        int d = model.Config.HiddenSize;
        _adapters = adapters.ToDictionary(
            kv => kv.Key,
            kv => (tensor(kv.Value.Down, [rank, d]).DetachFromDisposeScope(), tensor(kv.Value.Up, [d, rank]).DetachFromDisposeScope()));
        ExitLayers = adapters.Keys.Order().ToArray();
        PredictorLayer = predictorLayer;
        Predictor = predictor;
        Calibration = calibration;
    }

    /// <inheritdoc />
    public string ModelIdentity => _model.Identity;
    /// <inheritdoc />
    public IReadOnlyList<int> ExitLayers { get; }
    /// <inheritdoc />
    public int PredictorLayer { get; }
    /// <inheritdoc />
    public ExitCalibration Calibration { get; internal set; }
    /// <summary>Rank of the per-layer adapters.</summary>
    public int Rank { get; }
    /// <summary>The exit-layer predictor.</summary>
    public ExitPredictor Predictor { get; }

    /// <inheritdoc />
    public Tensor ExitLogits(int layer, Tensor hidden)
    {
        if (!_adapters.TryGetValue(layer, out var adapter))
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"no exit head after layer {layer}; heads exist after {string.Join(", ", ExitLayers)}.");
        using var scope = NewDisposeScope();
        var adapted = hidden + F.linear(F.linear(hidden, adapter.Down), adapter.Up);
        return _model.Head(adapted).MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public int PredictExitLayer(ReadOnlySpan<float> hidden, float previousConfidence, double threshold) =>
        Predictor.PredictExitLayer(hidden, previousConfidence, threshold);

    /// <summary>Writes the heads, predictor and calibration with the model's identity.</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var file = new ExitFile(
            Format, ModelIdentity, _model.Config.LayerCount, _model.Config.HiddenSize, Rank, PredictorLayer,
            ExitLayers.Select(l => new AdapterFile(l, _adapters[l].Down.data<float>().ToArray(), _adapters[l].Up.data<float>().ToArray())).ToArray(),
            new PredictorFile(Predictor.Width, Predictor.Layers.ToArray(), Predictor.W1, Predictor.B1, Predictor.W2, Predictor.B2),
            Calibration.Points.ToArray());
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        File.WriteAllText(path, JsonSerializer.Serialize(file, JsonOptions));
    }

    /// <summary>Loads exit heads saved by <see cref="Save"/> for <paramref name="model"/>.</summary>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InvalidDataException">Not an exit-heads file, damaged, or trained for another model (identity mismatch).</exception>
    public static ExitModel Load(string path, CausalLanguageModel model)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(model);
        if (!File.Exists(path)) throw new FileNotFoundException($"exit heads file not found: {path}", path);
        ExitFile? file;
        try { file = JsonSerializer.Deserialize<ExitFile>(File.ReadAllText(path), JsonOptions); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a readable exit heads file ({e.Message}).", e); }
        if (file is null || file.Format != Format)
            throw new InvalidDataException($"{path}: not an exit heads file (format '{file?.Format}', expected '{Format}').");
        if (!model.IsIdentifiedBy(file.ModelIdentity))
            throw new InvalidDataException($"{path}: exit heads were trained for model '{file.ModelIdentity}', not '{model.Identity}'; train them for this model.");
        int d = model.Config.HiddenSize;
        if (file.HiddenSize != d || file.LayerCount != model.Config.LayerCount)
            throw new InvalidDataException($"{path}: shape {file.LayerCount} layers × {file.HiddenSize} does not fit the model.");
        var adapters = new Dictionary<int, (float[], float[])>();
        foreach (var a in file.Adapters)
        {
            if (a.Down.Length != file.Rank * d || a.Up.Length != d * file.Rank || a.Layer < 0 || a.Layer >= file.LayerCount - 1)
                throw new InvalidDataException($"{path}: adapter of layer {a.Layer} is damaged.");
            adapters[a.Layer] = (a.Down, a.Up);
        }
        ExitPredictor predictor;
        try { predictor = new ExitPredictor(d, file.Predictor.Width, file.Predictor.Layers, file.Predictor.W1, file.Predictor.B1, file.Predictor.W2, file.Predictor.B2); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: predictor is damaged ({e.Message}).", e); }
        TimeBill.Core.Native.TorchSharpNativeLoader.EnsureLoaded();
        return new ExitModel(model, file.Rank, adapters, file.PredictorLayer, predictor, new ExitCalibration(file.LayerCount, file.Calibration));
    }

    /// <summary>Frees the adapter tensors.</summary>
    public void Dispose()
    {
        foreach (var (down, up) in _adapters.Values) { down.Dispose(); up.Dispose(); }
        _adapters.Clear();
    }

    private sealed record ExitFile(string Format, string ModelIdentity, int LayerCount, int HiddenSize, int Rank, int PredictorLayer,
        AdapterFile[] Adapters, PredictorFile Predictor, ExitCalibrationPoint[] Calibration);

    private sealed record AdapterFile(int Layer, float[] Down, float[] Up);

    private sealed record PredictorFile(int Width, int[] Layers, float[] W1, float[] B1, float[] W2, float[] B2);
}
