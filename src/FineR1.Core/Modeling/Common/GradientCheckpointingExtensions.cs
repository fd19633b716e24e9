namespace FineR1.Core.Modeling.Common;

/// <summary>Switches gradient checkpointing of a whole model (HF <c>model.gradient_checkpointing_enable()</c>).</summary>
public static class GradientCheckpointingExtensions
{
    /// <summary>
    /// Recompute every decoder layer (and, with <paramref name="includeVision"/>, every vision block) in backward.
    /// Active only in training mode (<c>model.train()</c>) with grad enabled and, for the decoder, without a KV cache;
    /// generation and evaluation are unaffected. Outputs and gradients equal those without checkpointing.
    /// </summary>
    /// <example><code>
    /// model.EnableGradientCheckpointing();   // decoder layers only (the SFT recipe freezes the vision tower)
    /// model.train();
    /// </code></example>
    public static void EnableGradientCheckpointing(this IVisionLanguageModel model, bool includeVision = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.SetGradientCheckpointing(languageModel: true, visionTower: includeVision);
    }

    /// <summary>Turns checkpointing off for the decoder and the vision tower.</summary>
    public static void DisableGradientCheckpointing(this IVisionLanguageModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.SetGradientCheckpointing(languageModel: false, visionTower: false);
    }
}
