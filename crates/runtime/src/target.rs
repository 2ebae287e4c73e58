use std::{collections::BTreeSet, fmt, str::FromStr};

/// One service the binary can run. `serve --target all` runs every one in one process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    // Declared in dependency order: a target only calls targets declared before it.
    IntegrationConfig,
    AccountLinks,
    Delivery,
    Gateway,
}

impl Target {
    pub const ALL: [Target; 4] = [
        Target::IntegrationConfig,
        Target::AccountLinks,
        Target::Delivery,
        Target::Gateway,
    ];

    /// The targets this one calls: in this process when they run here, by address otherwise.
    pub fn peers(self) -> &'static [Target] {
        match self {
            Target::IntegrationConfig => &[],
            Target::AccountLinks => &[Target::IntegrationConfig],
            Target::Delivery => &[Target::IntegrationConfig, Target::AccountLinks],
            Target::Gateway => &[Target::Delivery],
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Target::IntegrationConfig => "integration-config",
            Target::AccountLinks => "account-links",
            Target::Delivery => "delivery",
            Target::Gateway => "gateway",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The targets of one process, in dependency order (start in this order, stop in reverse).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetSet(BTreeSet<Target>);

impl TargetSet {
    pub fn all() -> Self {
        Self(Target::ALL.into_iter().collect())
    }

    pub fn contains(&self, t: Target) -> bool {
        self.0.contains(&t)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Target> + '_ {
        self.0.iter().copied()
    }

    pub fn is_all(&self) -> bool {
        self.0.len() == Target::ALL.len()
    }
}

impl fmt::Display for TargetSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.iter().map(Target::name).collect();
        f.write_str(&names.join(","))
    }
}

impl FromStr for TargetSet {
    type Err = String;

    /// `all`, one target name, or a comma list such as `gateway,delivery`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut set = BTreeSet::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "all" {
                set.extend(Target::ALL);
                continue;
            }
            let t = Target::ALL.into_iter().find(|t| t.name() == part).ok_or_else(|| {
                format!(
                    "unknown target `{part}`: use all, integration-config, account-links, delivery, gateway \
                     (comma lists allowed)"
                )
            })?;
            set.insert(t);
        }
        if set.is_empty() {
            return Err("no target given".into());
        }
        Ok(Self(set))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_in_dependency_order() {
        let set: TargetSet = "gateway, integration-config".parse().unwrap();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Target::IntegrationConfig, Target::Gateway]
        );
        assert!("all".parse::<TargetSet>().unwrap().is_all());
        let err = "gateway,mail".parse::<TargetSet>().unwrap_err();
        assert!(err.contains("unknown target `mail`"));
        assert!("".parse::<TargetSet>().is_err());
    }
}
