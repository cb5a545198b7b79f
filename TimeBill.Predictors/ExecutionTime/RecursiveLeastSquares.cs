using MathNet.Numerics.LinearAlgebra;

namespace TimeBill.Predictors.ExecutionTime;

/// <summary>
/// Recursive least squares with exponential forgetting, in information form, with stabilised (regularised)
/// forgetting: after each observation <c>(φ, y)</c> it keeps
/// <c>Λ ← λ·Λ + (1 − λ)·R + φ·φᵀ</c> and <c>η ← λ·η + (1 − λ)·R·w₀ + φ·y</c>, and the estimate is <c>w = Λ⁻¹·η</c>.
/// Old observations fade by λ each; the prior <c>(R, w₀)</c> is topped up at the rate it fades, so a direction no
/// observation excites (every prompt of one length, say) keeps the prior's information instead of winding up to an
/// arbitrary value. Memory is one n×n matrix and one vector, whatever the number of observations.
/// </summary>
internal sealed class RecursiveLeastSquares
{
    private readonly double _lambda;
    private readonly Matrix<double> _regularisation;
    private readonly Vector<double> _regularisationTarget;
    private readonly Matrix<double> _information;
    private readonly Vector<double> _informationState;
    private Vector<double> _w;

    /// <param name="prior">The starting estimate w₀ (also what the regulariser pulls unexcited directions towards).</param>
    /// <param name="forgettingFactor">λ in (0, 1].</param>
    /// <param name="initialInformation">Λ at the start (how many observations the prior is worth, per direction).</param>
    /// <param name="regularisation">R, the information kept forever in steady state.</param>
    public RecursiveLeastSquares(double[] prior, double forgettingFactor, Matrix<double> initialInformation, Matrix<double> regularisation)
    {
        _lambda = forgettingFactor;
        _w = Vector<double>.Build.DenseOfArray(prior);
        _information = initialInformation.Clone();
        _informationState = _information * _w;
        _regularisation = regularisation;
        _regularisationTarget = regularisation * _w;
    }

    public IReadOnlyList<double> Estimate => _w.AsArray() ?? _w.ToArray();

    public double Predict(ReadOnlySpan<double> phi)
    {
        double s = 0;
        for (int i = 0; i < _w.Count; i++) s += phi[i] * _w[i];
        return s;
    }

    /// <summary>Folds in one observation; its innovation <c>y − φᵀw</c> is clipped to ±<paramref name="maxInnovation"/> first.</summary>
    public void Update(ReadOnlySpan<double> phi, double y, double maxInnovation)
    {
        double predicted = Predict(phi);
        double target = predicted + Math.Clamp(y - predicted, -maxInnovation, maxInnovation);
        var f = Vector<double>.Build.DenseOfArray(phi.ToArray());

        _information.Multiply(_lambda, _information);
        _information.Add(_regularisation.Multiply(1 - _lambda), _information);
        _information.Add(f.OuterProduct(f), _information);
        _informationState.Multiply(_lambda, _informationState);
        _informationState.Add(_regularisationTarget.Multiply(1 - _lambda), _informationState);
        _informationState.Add(f.Multiply(target), _informationState);

        _w = _information.Cholesky().Solve(_informationState);
    }
}
