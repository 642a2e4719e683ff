"""Structure sources and builders: files, the bundled library, the Materials Project,
oriented single crystals and the paper's bicrystals.

Builders are plugins (hook ``ingrained_structure_builders``, see :mod:`ingrained_core.builtins`);
each module here is imported only when its builder is used. Conventions of every built
slab: cell axis a is the beam (projection) axis, b the image horizontal, c the image
vertical (up); see ``docs/structures.md``.
"""
