using TimeBill.Core.Planning;
using TorchSharp;
using static TorchSharp.torch;

namespace TimeBill.Predictors.ResponseLength;

/// <summary>What a length predictor's network outputs mean: a regression value or a bucket distribution.</summary>
internal static class LengthHeadOutputs
{
    /// <summary>Turns network outputs <c>[N, outputs]</c> into predictions (the quantile rule for buckets).</summary>
    public static ResponseLengthPrediction[] ToPredictions(Tensor output, LengthHeadSpec spec, double quantile)
    {
        var buckets = spec.Buckets;
        int n = (int)output.shape[0];
        var result = new ResponseLengthPrediction[n];
        if (spec.IsRegression)
        {
            float[] values = output.reshape(-1).data<float>().ToArray();
            for (int i = 0; i < n; i++)
                result[i] = ResponseLengthPrediction.PointMass(buckets, Math.Clamp(values[i] * spec.MaxLength, 0, spec.MaxLength));
            return result;
        }
        using var probabilities = output.softmax(-1);
        float[] p = probabilities.data<float>().ToArray();
        int c = buckets.Count;
        for (int i = 0; i < n; i++)
        {
            var row = new ArraySegment<float>(p, i * c, c);
            var distribution = new ResponseLengthPrediction(buckets, row, 0);
            result[i] = new ResponseLengthPrediction(buckets, row, distribution.Quantile(quantile));
        }
        return result;
    }
}
