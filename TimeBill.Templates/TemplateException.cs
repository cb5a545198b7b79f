namespace TimeBill.Templates;

/// <summary>A template that cannot be parsed or rendered; <see cref="Line"/> is the template line at fault.</summary>
public abstract class TemplateException : Exception
{
    /// <summary>Creates the exception for <paramref name="line"/> of the template.</summary>
    protected TemplateException(int line, string problem, Exception? inner = null)
        : base($"template line {line}: {problem}", inner)
    {
        Line = line;
        Problem = problem;
    }

    /// <summary>The 1-based template line at fault.</summary>
    public int Line { get; }

    /// <summary>What is wrong, without the line.</summary>
    public string Problem { get; }
}
