using MathNet.Numerics.LinearAlgebra;

namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// Least squares with every coefficient constrained to be ≥ 0, for the handful of columns a latency model has.
/// The constrained optimum is the unconstrained least-squares solution on its own set of positive coefficients
/// (KKT), so solving the unconstrained problem (MathNet QR) on every subset of columns and keeping the best
/// feasible one is exact; with at most 3 columns that is 7 small solves. Columns are scaled to unit maximum
/// before solving so <c>Nx²</c> next to <c>1</c> does not hurt the conditioning.
/// </summary>
internal static class NonNegativeLeastSquares
{
    private const int MaxColumns = 8;

    /// <summary>Minimises ‖A·x − y‖² subject to x ≥ 0 and returns x.</summary>
    public static double[] Solve(double[,] a, double[] y)
    {
        int rows = a.GetLength(0), cols = a.GetLength(1);
        if (rows != y.Length) throw new ArgumentException($"The design has {rows} rows but the target has {y.Length} values.", nameof(y));
        if (cols is < 1 or > MaxColumns) throw new ArgumentException($"Between 1 and {MaxColumns} columns are supported, not {cols}.", nameof(a));

        var scale = new double[cols];
        for (int j = 0; j < cols; j++)
        {
            double max = 0;
            for (int i = 0; i < rows; i++) max = Math.Max(max, Math.Abs(a[i, j]));
            scale[j] = max > 0 ? max : 1;
        }

        var target = Vector<double>.Build.DenseOfArray(y);
        double[] best = new double[cols];
        double bestResidual = target.DotProduct(target); // The empty subset: every coefficient zero.

        for (int mask = 1; mask < 1 << cols; mask++)
        {
            int[] subset = Enumerable.Range(0, cols).Where(j => (mask >> j & 1) != 0).ToArray();
            if (subset.Length > rows) continue;
            var design = Matrix<double>.Build.Dense(rows, subset.Length, (i, k) => a[i, subset[k]] / scale[subset[k]]);
            if (design.Rank() < subset.Length) continue;
            var x = design.QR().Solve(target);
            if (x.Any(v => !(v >= 0))) continue;
            var residual = design * x - target;
            double r = residual.DotProduct(residual);
            if (r < bestResidual)
            {
                bestResidual = r;
                best = new double[cols];
                for (int k = 0; k < subset.Length; k++) best[subset[k]] = x[k] / scale[subset[k]];
            }
        }
        return best;
    }
}
