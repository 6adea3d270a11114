/**
 * The public Java API of condense: {@link io.condense.api.Condense} compresses a model with a recipe
 * ({@link io.condense.recipe.Recipe}, presets or YAML) on task data and returns a
 * {@link io.condense.recipe.CompressResult} (paths, metrics, every candidate of the search); each technique is also
 * reachable as a pass with a record config.
 */
package io.condense.api;
