namespace FineR1.Inference.Evaluation;

/// <summary>
/// The anchor word of the relative semantic similarity, chosen from the image path as the reference does (spec §6.4):
/// the first of "aircraft" → <c>aircraft</c>, "birds" → <c>bird</c>, "cars" → <c>car</c>, "flower" → <c>flower</c>
/// found as a (case-sensitive) substring, else <c>object</c>. With the released relative paths birds
/// (<c>bird_200/…</c>), dogs and pets get <c>object</c>; the result depends on the path you pass.
/// </summary>
public static class SuperCategory
{
    /// <summary>The anchor for <paramref name="imagePath"/>.</summary>
    /// <example><c>ForImagePath("stanford-cars/cars_test/00001.jpg")</c> → <c>"car"</c>;
    /// <c>ForImagePath("bird_200/images/…")</c> → <c>"object"</c>.</example>
    public static string ForImagePath(string imagePath)
    {
        if (imagePath.Contains("aircraft", StringComparison.Ordinal)) return "aircraft";
        if (imagePath.Contains("birds", StringComparison.Ordinal)) return "bird";
        if (imagePath.Contains("cars", StringComparison.Ordinal)) return "car";
        if (imagePath.Contains("flower", StringComparison.Ordinal)) return "flower";
        return "object";
    }
}
