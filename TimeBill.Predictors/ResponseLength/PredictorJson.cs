using System.Text.Json;
using System.Text.Json.Serialization;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>The JSON style of predictor headers and distillation files: snake_case, nulls left out.</summary>
internal static class PredictorJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };
}
